//go:build unix

package proxycmd

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/passphrase"
)

// The proxy keeps a copy of the records: a read made for /metrics or
// /readyz, after a change or a SIGHUP, must still reach it, and a SIGHUP
// the proxy's check takes must still lead to a read.
func TestProxyHearsOfEveryRead(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	ci := oat.Token{Org: "acme", Label: "ci", Secret: "dckr_oat_ciCIciCIciCIciCIciCIciCIciCI", Active: true, Expires: now.Add(30 * 24 * time.Hour)}
	release := oat.Token{Org: "acme", Label: "release", Secret: "dckr_oat_relRELrelRELrelRELrelRELrel", Active: true, Expires: now.Add(7 * 24 * time.Hour)}
	const pass = "first passphrase"
	vaults := newSecretDir(t, map[string][]byte{"oat.vault": vaultImage(t, pass, ci)})
	passes := newSecretDir(t, map[string][]byte{"passphrase": []byte(pass + "\n")})
	env := map[string]string{passphrase.EnvFile: passes.path("passphrase"), "OAT_CACHE": "off"}
	var logs syncBuffer
	src, err := openVaultTokens(vaults.path("oat.vault"), func(k string) string { return env[k] }, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	p := src.forProxy()
	labels := func(all []oat.Token) string {
		var out []string
		for _, t := range all {
			out = append(out, t.Label)
		}
		return strings.Join(out, ",")
	}
	if all, err := p.Tokens(); err != nil || labels(all) != "ci" {
		t.Fatalf("the proxy's first read: %q %v", labels(all), err)
	}

	// A new vault, read first for /metrics.
	vaults.update(map[string][]byte{"oat.vault": vaultImage(t, pass, ci, release)})
	waitUntil(t, "the metrics' read sees the new vault", func() bool { return len(src.Current()) == 2 })
	if !p.Changed() {
		t.Fatal("after a read for /metrics, the proxy is not told of the new records")
	}
	if all, _ := p.Tokens(); labels(all) != "ci,release" && labels(all) != "release,ci" {
		t.Errorf("the proxy takes %q", labels(all))
	}
	if p.Changed() {
		t.Error("the proxy is told of a change once it has the records")
	}

	// A SIGHUP the metrics' check takes.
	reads := strings.Count(logs.String(), "token records read again")
	src.force()
	src.Current()
	if !p.Changed() {
		t.Error("after a SIGHUP read for /metrics, the proxy is not told")
	}
	p.Tokens()

	// A SIGHUP the proxy's check takes: its next read reads the store.
	src.force()
	if !p.Changed() {
		t.Fatal("the proxy's check does not see a SIGHUP")
	}
	p.Tokens()
	if got := strings.Count(logs.String(), "token records read again") - reads; got != 2 {
		t.Errorf("two SIGHUPs, %d reads", got)
	}
	if p.Changed() {
		t.Error("the proxy is told of a change once it has the records")
	}
}

// waitUntil polls ok until it holds, for at most 10 s.
func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
	}
}
