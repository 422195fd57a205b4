package version

import (
	"runtime/debug"
	"testing"
)

func TestCompute(t *testing.T) {
	t.Parallel()
	info := func(v string, ok bool) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			return &debug.BuildInfo{Main: debug.Module{Version: v}}, ok
		}
	}
	tests := []struct {
		name string
		tag  string
		read func() (*debug.BuildInfo, bool)
		want string
	}{
		{"tag wins", "v9.9.9", info("v1.0.0", true), "v9.9.9"},
		{"module version", "", info("v1.2.3", true), "v1.2.3"},
		{"devel build", "", info("(devel)", true), "devel"},
		{"no build info", "", info("", false), "devel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := compute(tt.tag, tt.read); got != tt.want {
				t.Errorf("compute() = %q, want %q", got, tt.want)
			}
		})
	}
}
