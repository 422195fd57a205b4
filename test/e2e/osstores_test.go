//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/oatkit/oat/internal/keyringtest"
)

// TestOSStores drives the helper against real OS stores: Secret Service
// (gnome-keyring on a session bus of the test's own) and pass (with a
// throwaway gpg key).
func TestOSStores(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	roundTrip := func(t *testing.T, c *client) {
		t.Helper()
		hub := `{"ServerURL":"https://index.docker.io/v1/","Username":"acme","Secret":"dckr_oat_OSStoreSecret0000000001"}`
		c.must(t, ctx, hub, helperName, "store")
		r := c.must(t, ctx, "docker.io\n", helperName, "get")
		if !strings.Contains(r.stdout, "dckr_oat_OSStoreSecret0000000001") {
			t.Errorf("get: %s", r)
		}
		c.must(t, ctx, `{"ServerURL":"ghcr.io","Username":"bot","Secret":"ghp_x"}`, helperName, "store")
		if list := c.must(t, ctx, "", helperName, "list").stdout; !strings.Contains(list, `"ghcr.io":"bot"`) || strings.Contains(list, "ghp_x") {
			t.Errorf("list: %s", list)
		}
		if ls := c.must(t, ctx, "", helperName, "token", "ls").stdout; !strings.Contains(ls, "acme") {
			t.Errorf("token ls: %s", ls)
		}
		c.must(t, ctx, "docker.io\n", helperName, "erase")
		if r := c.run(ctx, "docker.io\n", helperName, "get"); r.err == nil || !strings.Contains(r.stdout, "credentials not found") {
			t.Errorf("get after erase: %s", r)
		}
	}

	t.Run("secret-service", func(t *testing.T) {
		ss, err := keyringtest.StartSecretService(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer ss.Stop()
		base, _ := newClient(t, "unix:///nonexistent.sock")
		c := base.with(append(ss.Env, "OAT_BACKEND=secret-service")...)
		roundTrip(t, c)
		if r := c.run(ctx, "", helperName, "doctor"); !strings.Contains(r.stdout, "the secret-service store unlocks") {
			t.Errorf("doctor: %s", r)
		}
		// Without OAT_BACKEND, a desktop session (a bus announced) gets the
		// Secret Service by the automatic choice.
		auto := base.with(ss.Env...)
		if r := auto.run(ctx, "", helperName, "doctor"); !strings.Contains(r.stdout, "the secret-service store unlocks") {
			t.Errorf("doctor, automatic choice: %s", r)
		}
	})

	t.Run("pass", func(t *testing.T) {
		p, err := keyringtest.SetupPass(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer p.Stop()
		base, _ := newClient(t, "unix:///nonexistent.sock")
		roundTrip(t, base.with(append(p.Env, "OAT_BACKEND=pass")...))
	})

	t.Run("secret-service not running: its real error", func(t *testing.T) {
		base, _ := newClient(t, "unix:///nonexistent.sock")
		c := base.with("OAT_BACKEND=secret-service", "DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent/bus")
		r := c.run(ctx, "docker.io\n", helperName, "get")
		if r.err == nil || !strings.Contains(r.stdout, "the secret-service store:") || strings.Contains(r.stdout, "No keyring backend") {
			t.Errorf("get: %s", r)
		}
	})
}
