package hub

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseServer(t *testing.T) {
	t.Parallel()
	hubEntry := Server{Key: "index.docker.io", Hub: true}
	tests := []struct {
		in   string
		want Server
	}{
		{"https://index.docker.io/v1/", hubEntry},
		{"https://index.docker.io/v1", hubEntry},
		{"index.docker.io", hubEntry},
		{"index.docker.io/", hubEntry},
		{"docker.io", hubEntry},
		{"https://docker.io", hubEntry},
		{"registry-1.docker.io", hubEntry},
		{"https://registry-1.docker.io/v2/", hubEntry},
		{"HTTPS://Index.Docker.IO/v1/", hubEntry},
		{"index.docker.io:443", hubEntry},
		{"registry.hub.docker.com", hubEntry},
		{"  https://index.docker.io/v1/\n", hubEntry},

		// Docker's browser-login entries are their own keys, not the Hub entry.
		{"https://index.docker.io/v1/access-token", Server{Key: "index.docker.io/v1/access-token"}},
		{"https://index.docker.io/v1/refresh-token", Server{Key: "index.docker.io/v1/refresh-token"}},
		// Never hand Hub credentials to a plain-HTTP URL.
		{"http://index.docker.io/v1/", Server{Key: "http://index.docker.io/v1"}}, // not Hub, and its key says so
		{"index.docker.io:5000", Server{Key: "index.docker.io:5000"}},
		{"hub.docker.com", Server{Key: "hub.docker.com"}},
		{"evil-docker.io", Server{Key: "evil-docker.io"}},
		{"docker.io.evil.example", Server{Key: "docker.io.evil.example"}},

		{"registry.example.com", Server{Key: "registry.example.com"}},
		{"https://Registry.Example.com/", Server{Key: "registry.example.com"}},
		{"http://localhost:5000", Server{Key: "localhost:5000"}},
		{"localhost:5000/", Server{Key: "localhost:5000"}},
		{"ghcr.io/some/path/", Server{Key: "ghcr.io/some/path"}},
		{"[::1]:5000", Server{Key: "[::1]:5000"}},
		{"oci://registry.example.com", Server{Key: "oci://registry.example.com"}},

		// Not URLs: kept as given, trimmed.
		{"https://user:pw@registry.example.com", Server{Key: "https://user:pw@registry.example.com"}},
		{"registry.example.com?x=1", Server{Key: "registry.example.com?x=1"}},
		{"%zz", Server{Key: "%zz"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tt.want, ParseServer(tt.in)); diff != "" {
				t.Errorf("ParseServer(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestIsAPIHost(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]bool{
		"registry-1.docker.io": true, "Auth.Docker.io": true, "hub.docker.com": true,
		"index.docker.io": true, "AUTH.docker.io.": true, "registry.hub.docker.com": true,
		"auth.docker.io..": false, "production.cloudflare.docker.com": false, "docker.io": false,
	} {
		if got := IsAPIHost(host); got != want {
			t.Errorf("IsAPIHost(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestIsBlobHost(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]bool{
		"production.cloudflare.docker.com": true, "Production.CloudFront.docker.com": true,
		"docker-images-prod.6aa30f8b08e16409b46e0173d6de2f56.r2.cloudflarestorage.com": true,
		"production.cloudflare.docker.com.":                                            false, "evil.production.cloudflare.docker.com": false,
		"docker-images-prod.s3.amazonaws.com": false, "registry-1.docker.io": false, "": false,
	} {
		if got := IsBlobHost(host); got != want {
			t.Errorf("IsBlobHost(%q) = %v, want %v", host, got, want)
		}
	}
}

func FuzzParseServer(f *testing.F) {
	for _, s := range []string{"https://index.docker.io/v1/", "docker.io", "localhost:5000", "http://x/y/", "%", "a://b@c",
		"http://docker.io", "HTTP://Index.Docker.IO:443/v1/", "registry-1.docker.io/v2/", "ftp://x/%2F", "https://x:443//a/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := ParseServer(s)
		if got.Hub && got.Key != IndexHost {
			t.Fatalf("Hub entry with key %q", got.Key)
		}
		if !got.Hub && got.Key == IndexHost {
			t.Fatalf("ParseServer(%q) is not Hub but has Hub's key", s)
		}
		// Normalising is idempotent: a key reads back as itself, Hub or not.
		if again := ParseServer(got.Key); again != got {
			t.Fatalf("ParseServer(%q) = %+v, but ParseServer(%q) = %+v", s, got, got.Key, again)
		}
	})
}
