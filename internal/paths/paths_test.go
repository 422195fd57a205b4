package paths

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestResolve(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		goos    string
		env     map[string]string
		want    Dirs
		wantErr bool
	}{
		{"xdg", "linux", map[string]string{"HOME": "/h", "XDG_DATA_HOME": "/xd", "XDG_CONFIG_HOME": "/xc"},
			Dirs{Data: "/xd/docker-credential-oat", Config: "/xc/docker-credential-oat"}, false},
		{"home fallback", "linux", map[string]string{"HOME": "/h"},
			Dirs{Data: "/h/.local/share/docker-credential-oat", Config: "/h/.config/docker-credential-oat"}, false},
		{"relative xdg ignored", "linux", map[string]string{"HOME": "/h", "XDG_DATA_HOME": "rel"},
			Dirs{Data: "/h/.local/share/docker-credential-oat", Config: "/h/.config/docker-credential-oat"}, false},
		{"OAT_HOME wins", "linux", map[string]string{"HOME": "/h", "XDG_DATA_HOME": "/xd", "OAT_HOME": "/oat"},
			Dirs{Data: "/oat", Config: "/oat"}, false},
		{"relative OAT_HOME", "linux", map[string]string{"OAT_HOME": "oat"}, Dirs{}, true},
		{"nothing set", "linux", map[string]string{}, Dirs{}, true},
		{"macOS", "darwin", map[string]string{"HOME": "/Users/a"},
			Dirs{Data: "/Users/a/Library/Application Support/docker-credential-oat", Config: "/Users/a/Library/Application Support/docker-credential-oat"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := resolve(tt.goos, func(k string) string { return tt.env[k] })
			if (err != nil) != tt.wantErr {
				t.Fatalf("resolve() error = %v, wantErr %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("resolve() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
