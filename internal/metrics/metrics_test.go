package metrics

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/oatkit/oat/internal/oat"
)

func TestTokenExpiry(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	tokens := []oat.Token{
		{Org: "acme", Label: "ci", Expires: now.Add(10 * 24 * time.Hour), Secret: "dckr_oat_secretsecretsecretsecret01"},
		{Org: "acme", Label: "old", Expires: now.Add(-36 * time.Hour)},
		{Org: "beta", Label: "forever"},
	}
	m := New()
	m.WatchTokens(fixedRecords(tokens), func() time.Time { return now })
	want := `
# HELP oat_token_expiry_days Days until the token expires (negative once it has).
# TYPE oat_token_expiry_days gauge
oat_token_expiry_days{label="ci",org="acme"} 10
oat_token_expiry_days{label="old",org="acme"} -1.5
# HELP oat_token_records Token records loaded.
# TYPE oat_token_records gauge
oat_token_records 3
# HELP oat_token_records_stale 1 when the last read of the token records failed and the last good ones serve.
# TYPE oat_token_records_stale gauge
oat_token_records_stale 0
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "oat_token_expiry_days", "oat_token_records", "oat_token_records_stale"); err != nil {
		t.Error(err)
	}
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if strings.Contains(f.String(), "dckr_oat_") {
			t.Errorf("metric %s shows a secret", f.GetName())
		}
	}
}

// What the last sync found: inactive or gone tokens, and days unused.
func TestTokenActivityFromSync(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	tokens := []oat.Token{
		{Org: "acme", Label: "ci", Active: true, HubID: "1", LastUsed: now.Add(-100 * 24 * time.Hour)},
		{Org: "acme", Label: "off", Active: false, HubID: "2"},
		{Org: "acme", Label: "gone", Active: true, HubID: "3", Gone: true},
		{Org: "acme", Label: "by-hand", Active: true},
	}
	m := New()
	m.WatchTokens(fixedRecords(tokens), func() time.Time { return now })
	want := `
# HELP oat_token_active 1 when the token's record is active, 0 when it is inactive or gone from Docker Hub (as the last token sync found).
# TYPE oat_token_active gauge
oat_token_active{label="by-hand",org="acme"} 1
oat_token_active{label="ci",org="acme"} 1
oat_token_active{label="gone",org="acme"} 0
oat_token_active{label="off",org="acme"} 0
# HELP oat_token_unused_days Days since Docker Hub last saw the token used, as the last token sync found (none before a sync, or if never used).
# TYPE oat_token_unused_days gauge
oat_token_unused_days{label="ci",org="acme"} 100
# HELP oat_org_hub_tokens Access tokens of the organization known at Docker Hub, as the last token sync found: a Team plan allows 10, a Business plan 100, expired and inactive ones included.
# TYPE oat_org_hub_tokens gauge
oat_org_hub_tokens{org="acme"} 2
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "oat_token_active", "oat_token_unused_days", "oat_org_hub_tokens"); err != nil {
		t.Error(err)
	}
}

type fixedRecords []oat.Token

func (f fixedRecords) Current() []oat.Token { return f }
func (fixedRecords) Stale() bool            { return false }

func TestRecorder(t *testing.T) {
	t.Parallel()
	m := New()
	m.Request("manifest", "allowed", "Registry-1.Docker.IO:443")
	m.Request("tunnel", "passed", "example.com:443")
	m.Request("tunnel", "passed", "other.example:443")
	m.Denial("ci", "scope")
	m.Upstream(200)
	m.Upstream(404)
	m.Upstream(0)
	m.Bytes("registry", 10, 2048)
	m.Bytes("tunnel", 0, 5)
	m.Bytes("tunnel", 7, 1)
	m.Latency("blob", 30*time.Millisecond)
	for _, tt := range []struct {
		name   string
		got    float64
		expect float64
	}{
		{"hub host", testutil.ToFloat64(m.requests.WithLabelValues("manifest", "allowed", "registry-1.docker.io")), 1},
		{"other hosts in one label", testutil.ToFloat64(m.requests.WithLabelValues("tunnel", "passed", "other")), 2},
		{"denial", testutil.ToFloat64(m.denials.WithLabelValues("ci", "scope")), 1},
		{"2xx", testutil.ToFloat64(m.upstream.WithLabelValues("2xx")), 1},
		{"4xx", testutil.ToFloat64(m.upstream.WithLabelValues("4xx")), 1},
		{"no status", testutil.ToFloat64(m.upstream.WithLabelValues("other")), 1},
		{"bytes in", testutil.ToFloat64(m.bytes.WithLabelValues("in", "registry")), 10},
		{"bytes out", testutil.ToFloat64(m.bytes.WithLabelValues("out", "registry")), 2048},
		{"tunnel bytes in", testutil.ToFloat64(m.bytes.WithLabelValues("in", "tunnel")), 7},
		{"tunnel bytes out", testutil.ToFloat64(m.bytes.WithLabelValues("out", "tunnel")), 6},
	} {
		if tt.got != tt.expect {
			t.Errorf("%s: %v, want %v", tt.name, tt.got, tt.expect)
		}
	}
	if n := testutil.CollectAndCount(m.latency); n != 1 {
		t.Errorf("latency series: %d, want 1", n)
	}
}

func TestOpenConnections(t *testing.T) {
	t.Parallel()
	m := New()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := m.Listener(raw)
	defer ln.Close()
	accepted := make(chan net.Conn)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	var server []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		server = append(server, <-accepted)
	}
	if got := testutil.ToFloat64(m.conns); got != 3 {
		t.Errorf("open connections: %v, want 3", got)
	}
	server[0].Close()
	server[0].Close() // twice counts once
	if got := testutil.ToFloat64(m.conns); got != 2 {
		t.Errorf("open connections after one closed: %v, want 2", got)
	}
}
