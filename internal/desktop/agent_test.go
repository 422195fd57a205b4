package desktop

import "testing"

func TestUserAgent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ua   string
		want bool
	}{
		{"docker/28.2.2 go/go1.24.3 git-commit/e6534b4 kernel/6.10.14-linuxkit os/linux arch/arm64 UpstreamClient(Docker-Client/28.2.2 (darwin))", true},
		{"docker/27.4.0 go/go1.22.10 git-commit/92a8393 kernel/5.15.167.4-microsoft-standard-WSL2 os/linux arch/amd64 UpstreamClient(Docker-Desktop/4.37.1 (windows))", true},
		{"docker/28.2.2 go/go1.24.3 git-commit/e6534b4 kernel/6.1.0-28-amd64 os/linux arch/amd64 UpstreamClient(Docker-Client/28.2.2 (linux))", false},
		{"go-containerregistry/v0.22.1", false},
		{"containerd/1.6.20", false},
		{"", false},
		{"Docker Desktop/4.30.0 (darwin; arm64)", true},
	}
	for _, tt := range tests {
		if got, why := UserAgent(tt.ua); got != tt.want || (got && why == "") {
			t.Errorf("UserAgent(%q) = %v, %q; want %v", tt.ua, got, why, tt.want)
		}
	}
}

// BenchmarkUserAgent is the check every intercepted request makes, for a
// client that is not Docker Desktop.
func BenchmarkUserAgent(b *testing.B) {
	ua := "docker/28.2.2 go/go1.24.3 git-commit/e6534b4 kernel/6.1.0-28-amd64 os/linux arch/amd64 UpstreamClient(Docker-Client/28.2.2 (linux))"
	for b.Loop() {
		if d, _ := UserAgent(ua); d {
			b.Fatal("desktop")
		}
	}
}
