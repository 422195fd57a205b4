package registry

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseScope(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want Access
		ok   bool
		err  bool
	}{
		{"repository:acme/app:pull", Access{"acme/app", []string{"pull"}}, true, false},
		{"Repository:acme/base:push", Access{"acme/base", []string{"push"}}, true, false},
		{"REPOSITORY(plugin):acme/base:PUSH,pull", Access{"acme/base", []string{"push", "pull"}}, true, false},
		{"repository:alpine:pull", Access{"library/alpine", []string{"pull"}}, true, false},
		{"registry:catalog:*", Access{}, false, false},
		{"repository:ACME/base:push", Access{}, false, true},
		{"repository:acme/base:", Access{}, false, true},
		{"repository", Access{}, false, true},
	} {
		got, ok, err := ParseScope(tt.in)
		if ok != tt.ok || (err != nil) != tt.err || !cmp.Equal(got, tt.want) {
			t.Errorf("ParseScope(%q) = %+v %v %v", tt.in, got, ok, err)
		}
	}
}
