package proxy

import (
	"crypto/tls"
	"net"
	"net/http"
	"testing"

	hubpkg "github.com/oatkit/oat/internal/hub"
)

// TestClientLegOnThisMachine: a client on loopback gets X25519 (not the
// hybrid post-quantum exchange it also offers), and a client that offers a
// ticket from an earlier connection resumes its session; the requests
// inside still get their answers.
func TestClientLegOnThisMachine(t *testing.T) {
	t.Parallel()
	f := setup(t, false)
	cache := tls.NewLRUClientSessionCache(8)
	var states []tls.ConnectionState
	for range 3 {
		tr := f.client.Clone()
		tr.TLSClientConfig.ClientSessionCache = cache
		resp, err := (&http.Client{Transport: tr}).Get("https://" + hubpkg.RegistryHost + "/v2/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || resp.TLS == nil {
			t.Fatalf("GET /v2/: %s, want the Hub's 401 challenge", resp.Status)
		}
		states = append(states, *resp.TLS)
		tr.CloseIdleConnections()
	}
	for i, s := range states {
		if s.CurveID != tls.X25519 {
			t.Errorf("connection %d: key exchange %v, want X25519 on loopback", i, s.CurveID)
		}
		if s.DidResume != (i > 0) {
			t.Errorf("connection %d: resumed %v, want %v", i, s.DidResume, i > 0)
		}
	}
}

// TestClientLegElsewhere: a client that is not on this machine gets Go's
// defaults, the post-quantum exchange first.
func TestClientLegElsewhere(t *testing.T) {
	t.Parallel()
	f := setup(t, false)
	remote, err := f.p.serverTLS(hubpkg.RegistryHost+":443", false)
	if err != nil {
		t.Fatal(err)
	}
	local, err := f.p.serverTLS(hubpkg.RegistryHost, true)
	if err != nil {
		t.Fatal(err)
	}
	if remote.CurvePreferences != nil {
		t.Errorf("a remote client's key exchanges: %v, want Go's defaults", remote.CurvePreferences)
	}
	if remote == local {
		t.Error("local and remote clients share one configuration")
	}
	if again, _ := f.p.serverTLS(hubpkg.RegistryHost, false); again != remote {
		t.Error("the configuration was not kept: sessions could not resume")
	}
}

func TestOnThisMachine(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		a    net.Addr
		want bool
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5}, true},
		{&net.TCPAddr{IP: net.IPv4(127, 1, 2, 3), Port: 5}, true},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 5}, true},
		{&net.TCPAddr{IP: net.IPv4(10, 0, 0, 1), Port: 5}, false},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:192.168.1.2"), Port: 5}, false},
		{&net.UnixAddr{Name: "@", Net: "unix"}, true},
		{addrString("127.0.0.1:3128"), true},
		{addrString("[::1]:3128"), true},
		{addrString("203.0.113.7:3128"), false},
		{addrString("not an address"), false},
		{nil, false},
	} {
		if got := onThisMachine(c.a); got != c.want {
			t.Errorf("onThisMachine(%v) = %v, want %v", c.a, got, c.want)
		}
	}
}
