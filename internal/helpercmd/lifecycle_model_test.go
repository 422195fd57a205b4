package helpercmd

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"testing"

	"github.com/oatkit/oat/internal/passphrase"
	"github.com/oatkit/oat/internal/store"
)

// records reads the helper's token records, secrets included.
func (l *lifecycle) records(t *testing.T) map[string]string {
	t.Helper()
	s, err := store.Open(store.Config{Getenv: env(map[string]string{"OAT_HOME": l.home, "OAT_PASSPHRASE": testPW}),
		OpenTTY: func() (passphrase.TTY, error) { return nil, errors.New("no terminal") }, VaultParams: fastParams})
	if err != nil {
		t.Fatal(err)
	}
	all, err := s.Tokens()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, tok := range all {
		out[tok.Label] = tok.Secret
	}
	return out
}

// Random sequences of create, deactivate, activate, rotate, delete and
// sync, with the Hub failing at a random step of some of them, against a
// model of what the Hub should hold: after each command (and, when the Hub
// failed it, once more without the failure, as a person would run it
// again) the Hub holds exactly the model's tokens, active as the model
// says, no orphan; every record is active as its token at the Hub; and
// every active token's kept secret is accepted by the Hub.
func TestLifecycleSequences(t *testing.T) {
	seed := rand.Uint64()
	if s := os.Getenv("OAT_TEST_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("seed %d (OAT_TEST_SEED replays it)", seed)
	rng := rand.New(rand.NewPCG(seed, 25))
	l := newLifecycle(t, 0)
	l.signIn(t)
	model := map[string]bool{} // label → active at the Hub
	labels := []string{"a", "b", "c"}
	for step := range 40 {
		label := labels[rng.IntN(len(labels))]
		_, has := model[label]
		var args []string
		switch op := rng.IntN(6); {
		case op == 0 || !has && op < 5:
			args = []string{"token", "create", "--org", "acme", "--label", label, "--pull", "acme/app"}
		case op == 1:
			args = []string{"token", "deactivate", label}
		case op == 2:
			args = []string{"token", "activate", label}
		case op == 3:
			args = []string{"token", "rotate", label, "--delete"}
		case op == 4:
			args = []string{"token", "delete", label}
		case len(model) == 0:
			continue // nothing to sync: an error, as it says
		default:
			args = []string{"token", "sync"}
		}
		failed := rng.IntN(3) == 0
		if failed {
			l.hub.FailAfter(rng.IntN(4), http.StatusServiceUnavailable)
		}
		_, stderr, code := l.run(t, "", args...)
		l.hub.ClearFailures()
		if code != 0 && failed {
			_, stderr, code = l.run(t, "", args...) // again, as a person would
		}
		name := fmt.Sprintf("step %d: %v (seed %d)", step, args, seed)
		// The model's answer.
		switch args[1] {
		case "create":
			if has {
				if code == 0 {
					t.Fatalf("%s: a label taken was created again", name)
				}
				continue
			}
			model[label] = true
		case "deactivate", "activate", "rotate", "delete":
			if !has {
				if code == 0 {
					t.Fatalf("%s: succeeded on a token that is not there", name)
				}
				continue
			}
			switch args[1] {
			case "deactivate":
				model[label] = false
			case "activate", "rotate": // a twin is created active
				model[label] = true
			case "delete":
				delete(model, label)
			}
		}
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", name, code, stderr)
		}
		// The Hub holds the model's tokens.
		list, err := l.owner(t).List(context.Background(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		ls := l.ls(t)
		if len(list) != len(model) {
			t.Fatalf("%s: the Hub holds %d tokens, the model %d: %+v", name, len(list), len(model), list)
		}
		secrets := l.records(t)
		for _, h := range list {
			var label string
			for lb, e := range ls {
				if e.ID == h.ID {
					label = lb
				}
			}
			want, ok := model[label]
			switch {
			case !ok:
				t.Fatalf("%s: the Hub holds %s, which no record of the model's names (%+v)", name, h.ID, ls)
			case h.IsActive != want:
				t.Fatalf("%s: %s is active %v at the Hub, the model says %v", name, label, h.IsActive, want)
			case args[1] != "create" && ls[label].Active != want:
				t.Fatalf("%s: the record of %s is active %v, the Hub says %v", name, label, ls[label].Active, want)
			case want && l.granted(t, secrets[label], "repository:acme/app:pull") == nil:
				t.Fatalf("%s: the Hub refuses the kept secret of active %s", name, label)
			}
		}
	}
	if len(model) == 0 {
		t.Log("the sequence ended with no token")
	}
}
