package vault

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/99designs/keyring"
	"github.com/google/go-cmp/cmp"
)

// fastParams keep tests quick; the bounds still apply.
var fastParams = Params{Time: 1, MemoryKiB: minMemoryKiB, Threads: 1}

func newVault(t *testing.T, pass string) *Vault {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "store")
	return New(Options{Path: filepath.Join(dir, "oat.vault"), Passphrase: fixed(pass), Params: fastParams})
}

func fixed(pass string) PassphraseFunc {
	return func(bool) ([]byte, error) { return []byte(pass), nil }
}

func reopen(v *Vault, pass string) *Vault {
	return New(Options{Path: v.Path(), Passphrase: fixed(pass), Params: fastParams})
}

func mustSet(t *testing.T, v *Vault, key, data string) {
	t.Helper()
	if err := v.Set(keyring.Item{Key: key, Data: []byte(data), Label: "label " + key}); err != nil {
		t.Fatalf("Set(%q): %v", key, err)
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	v := newVault(t, "correct horse")
	if keys, err := v.Keys(); err != nil || len(keys) != 0 {
		t.Fatalf("Keys() on a missing vault = %v, %v; want empty, nil", keys, err)
	}
	if _, err := v.Get("x"); !errors.Is(err, keyring.ErrKeyNotFound) {
		t.Fatalf("Get on a missing vault: %v, want ErrKeyNotFound", err)
	}
	mustSet(t, v, "registry/a.example", "secret-a")
	mustSet(t, v, "registry/b.example", "secret-b")
	mustSet(t, v, "registry/a.example", "secret-a2")

	w := reopen(v, "correct horse") // a second process
	item, err := w.Get("registry/a.example")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(keyring.Item{Key: "registry/a.example", Data: []byte("secret-a2"), Label: "label registry/a.example"}, item); diff != "" {
		t.Errorf("Get mismatch (-want +got):\n%s", diff)
	}
	keys, err := w.Keys()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"registry/a.example", "registry/b.example"}, keys); diff != "" {
		t.Errorf("Keys mismatch (-want +got):\n%s", diff)
	}
	md, err := w.GetMetadata("registry/b.example")
	if err != nil || md.Item.Label != "label registry/b.example" || len(md.Item.Data) != 0 || md.ModificationTime.IsZero() {
		t.Errorf("GetMetadata = %+v, %v", md, err)
	}
	if err := w.Remove("registry/a.example"); err != nil {
		t.Fatal(err)
	}
	if err := w.Remove("registry/a.example"); !errors.Is(err, keyring.ErrKeyNotFound) {
		t.Errorf("second Remove: %v, want ErrKeyNotFound", err)
	}
	if _, err := v.Get("registry/a.example"); !errors.Is(err, keyring.ErrKeyNotFound) {
		t.Errorf("Get after Remove: %v, want ErrKeyNotFound", err)
	}
}

func TestNothingInPlaintext(t *testing.T) {
	t.Parallel()
	v := newVault(t, "pw-123456")
	mustSet(t, v, "hub/acme/ci-pull", "dckr_oat_SECRETSECRET")
	mustSet(t, v, "registry/registry.example.com", `{"username":"robot-user"}`)
	raw, err := os.ReadFile(v.Path())
	if err != nil {
		t.Fatal(err)
	}
	for _, leak := range []string{"acme", "ci-pull", "dckr_oat", "SECRETSECRET", "registry.example.com", "robot-user", "label"} {
		if bytes.Contains(raw, []byte(leak)) {
			t.Errorf("vault file contains %q in plaintext", leak)
		}
	}
	for _, want := range []string{`"format": "docker-credential-oat vault"`, `"name": "argon2id"`, `"cipher": "xchacha20-poly1305"`} {
		if !bytes.Contains(raw, []byte(want)) {
			t.Errorf("vault header lacks %s", want)
		}
	}
	for path, want := range map[string]os.FileMode{v.Path(): 0o600, filepath.Dir(v.Path()): 0o700} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %04o, want %04o", path, fi.Mode().Perm(), want)
		}
	}
}

func TestPaddingHidesSmallChanges(t *testing.T) {
	t.Parallel()
	v := newVault(t, "pw-123456")
	mustSet(t, v, "a", "x")
	one, _ := os.Stat(v.Path())
	mustSet(t, v, "b", "y")
	two, _ := os.Stat(v.Path())
	if one.Size() != two.Size() {
		t.Errorf("file size changed from %d to %d for one small entry", one.Size(), two.Size())
	}
}

func TestWrongPassphrase(t *testing.T) {
	t.Parallel()
	v := newVault(t, "right passphrase")
	mustSet(t, v, "k", "v")
	before, _ := os.ReadFile(v.Path())

	w := reopen(v, "wrong passphrase")
	if _, err := w.Get("k"); !errors.Is(err, ErrWrongPassphrase) || err.Error() != v.Path()+": wrong passphrase" {
		t.Errorf("Get with wrong passphrase: %v, want %q", err, v.Path()+": wrong passphrase")
	}
	if err := w.Set(keyring.Item{Key: "k2", Data: []byte("v2")}); !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("Set with wrong passphrase: %v, want ErrWrongPassphrase", err)
	}
	after, _ := os.ReadFile(v.Path())
	if !bytes.Equal(before, after) {
		t.Error("vault changed after a wrong passphrase")
	}
}

func TestAttemptsAskAgain(t *testing.T) {
	t.Parallel()
	v := newVault(t, "right passphrase")
	mustSet(t, v, "k", "v")
	answers := []string{"typo", "right passphrase"}
	var asked int
	w := New(Options{Path: v.Path(), Attempts: 3, Passphrase: func(create bool) ([]byte, error) {
		if create {
			t.Error("asked to create an existing vault")
		}
		asked++
		return []byte(answers[asked-1]), nil
	}})
	if _, err := w.Get("k"); err != nil {
		t.Fatalf("Get after a typo: %v", err)
	}
	if _, err := w.Get("k"); err != nil || asked != 2 {
		t.Errorf("second Get asked again (asked %d times), err %v", asked, err)
	}
}

func TestPassphraseError(t *testing.T) {
	t.Parallel()
	v := newVault(t, "x")
	noPass := errors.New("no passphrase available")
	w := New(Options{Path: v.Path(), Passphrase: func(bool) ([]byte, error) { return nil, noPass }})
	if err := w.Set(keyring.Item{Key: "k", Data: []byte("v")}); !errors.Is(err, noPass) {
		t.Errorf("Set: %v, want the passphrase source's error", err)
	}
	if _, err := os.Stat(v.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Error("a vault was created without a passphrase")
	}
}

// damage rewrites the vault's JSON envelope with f.
func damage(t *testing.T, path string, f func(m map[string]any)) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	out, _ := json.Marshal(m)
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestDamagedFiles(t *testing.T) {
	t.Parallel()
	other := newVault(t, "another vault")
	mustSet(t, other, "k", "v")
	otherRaw, _ := os.ReadFile(other.Path())

	tests := []struct {
		name    string
		corrupt func(t *testing.T, path string)
		wantErr string // substring; "" means ErrWrongPassphrase
	}{
		{"truncated", func(t *testing.T, p string) {
			raw, _ := os.ReadFile(p)
			os.WriteFile(p, raw[:len(raw)/2], 0o600)
		}, "the file is truncated"},
		{"empty", func(t *testing.T, p string) { os.WriteFile(p, nil, 0o600) }, "the file is empty"},
		{"foreign file", func(t *testing.T, p string) { os.WriteFile(p, []byte("\x89PNG\r\n\x1a\n...."), 0o600) }, "not a vault file"},
		{"foreign json", func(t *testing.T, p string) { os.WriteFile(p, []byte(`{"auths":{}}`), 0o600) }, "not a vault file"},
		{"flipped ciphertext", func(t *testing.T, p string) {
			damage(t, p, func(m map[string]any) {
				ct := []byte(m["ciphertext"].(string))
				if ct[10] == 'A' {
					ct[10] = 'B'
				} else {
					ct[10] = 'A'
				}
				m["ciphertext"] = string(ct)
			})
		}, "fail authentication"},
		{"swapped nonce", func(t *testing.T, p string) {
			damage(t, p, func(m map[string]any) { m["nonce"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" })
		}, "fail authentication"},
		{"newer version", func(t *testing.T, p string) { damage(t, p, func(m map[string]any) { m["version"] = 3 }) }, "written by a newer version"},
		{"huge memory parameter", func(t *testing.T, p string) {
			damage(t, p, func(m map[string]any) { m["kdf"].(map[string]any)["memory_kib"] = 100 << 20 })
		}, "out of range"},
		{"zero time parameter", func(t *testing.T, p string) {
			damage(t, p, func(m map[string]any) { m["kdf"].(map[string]any)["time"] = 0 })
		}, "out of range"},
		{"unknown field", func(t *testing.T, p string) { damage(t, p, func(m map[string]any) { m["extra"] = 1 }) }, "not a vault file"},
		{"weakened parameters", func(t *testing.T, p string) {
			damage(t, p, func(m map[string]any) { m["kdf"].(map[string]any)["threads"] = 2 })
		}, ""},
		{"swapped for another vault", func(t *testing.T, p string) { os.WriteFile(p, otherRaw, 0o600) }, ""},
		{"too large", func(t *testing.T, p string) {
			os.WriteFile(p, bytes.Repeat([]byte(" "), maxFileSize+1), 0o600)
		}, "not a vault"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := newVault(t, "pw-123456")
			mustSet(t, v, "k", "v")
			tt.corrupt(t, v.Path())
			damaged, _ := os.ReadFile(v.Path())

			w := reopen(v, "pw-123456")
			_, err := w.Get("k")
			if tt.wantErr == "" {
				if !errors.Is(err, ErrWrongPassphrase) {
					t.Fatalf("Get: %v, want ErrWrongPassphrase", err)
				}
			} else {
				var ce *CorruptError
				if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), v.Path()) {
					t.Fatalf("Get: %v, want a CorruptError naming the file and saying %q", err, tt.wantErr)
				}
			}
			// Writes refuse too, and nothing is overwritten.
			if err := w.Set(keyring.Item{Key: "k", Data: []byte("new")}); err == nil {
				t.Error("Set over a damaged vault succeeded")
			}
			if after, _ := os.ReadFile(v.Path()); !bytes.Equal(after, damaged) {
				t.Error("damaged vault was overwritten")
			}
		})
	}
}

func TestPermissions(t *testing.T) {
	t.Parallel()
	v := newVault(t, "pw-123456")
	mustSet(t, v, "k", "v")
	dir := filepath.Dir(v.Path())

	os.Chmod(v.Path(), 0o644)
	_, err := reopen(v, "pw-123456").Get("k")
	var pe *PermissionError
	if !errors.As(err, &pe) || err.Error() != fmt.Sprintf("%s is accessible by other users (mode 0644); run: chmod 600 %s", v.Path(), v.Path()) {
		t.Errorf("Get on a 0644 vault: %v", err)
	}
	os.Chmod(v.Path(), 0o600)
	os.Chmod(dir, 0o755)
	err = reopen(v, "pw-123456").Set(keyring.Item{Key: "k2"})
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "run: chmod 700 "+dir) {
		t.Errorf("Set in a 0755 directory: %v", err)
	}
	os.Chmod(dir, 0o700)
	if _, err := reopen(v, "pw-123456").Get("k"); err != nil {
		t.Errorf("Get after fixing modes: %v", err)
	}
}

func TestResetMovesAside(t *testing.T) {
	t.Parallel()
	v := newVault(t, "pw-123456")
	mustSet(t, v, "k", "v")
	os.WriteFile(v.Path(), []byte("garbage"), 0o600)
	aside, err := v.Reset()
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(aside); string(got) != "garbage" {
		t.Errorf("moved-aside file holds %q", got)
	}
	mustSet(t, v, "k", "fresh")
	if it, err := v.Get("k"); err != nil || string(it.Data) != "fresh" {
		t.Errorf("Get after reset: %q, %v", it.Data, err)
	}
}

func TestStaleTempFilesRemoved(t *testing.T) {
	t.Parallel()
	v := newVault(t, "pw-123456")
	mustSet(t, v, "k", "v")
	stale := filepath.Join(filepath.Dir(v.Path()), ".oat-vault-123.tmp")
	os.WriteFile(stale, []byte("half a vault"), 0o600)
	mustSet(t, v, "k2", "v")
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Error("stale temporary file left behind")
	}
}

func TestBatchAbortsWhole(t *testing.T) {
	t.Parallel()
	v := newVault(t, "pw-123456")
	mustSet(t, v, "a", "1")
	err := v.Batch(func(tx *Tx) error {
		tx.Set(keyring.Item{Key: "b", Data: []byte("2")})
		tx.Remove("a")
		return errors.New("changed my mind")
	})
	if err == nil || err.Error() != "changed my mind" {
		t.Fatalf("Batch: %v", err)
	}
	if keys, _ := v.Keys(); !cmp.Equal(keys, []string{"a"}) {
		t.Errorf("after an aborted batch keys = %v, want [a]", keys)
	}
}

// TestConcurrentWriters runs writers with separate Vault values (as separate
// processes would) on one file: every write must survive.
func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	v := newVault(t, "pw-123456")
	mustSet(t, v, "seed", "x")
	const writers, each = 8, 10
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := reopen(v, "pw-123456")
			for i := range each {
				key := fmt.Sprintf("w%d/%d", w, i)
				if err := mine.Set(keyring.Item{Key: key, Data: []byte(key)}); err != nil {
					t.Errorf("Set(%s): %v", key, err)
				}
				if _, err := reopen(v, "pw-123456").Get("seed"); err != nil {
					t.Errorf("concurrent Get: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	keys, err := v.Keys()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != writers*each+1 {
		t.Errorf("%d keys after concurrent writes, want %d", len(keys), writers*each+1)
	}
}

func FuzzParse(f *testing.F) {
	v := New(Options{Path: filepath.Join(f.TempDir(), "d", "oat.vault"), Passphrase: fixed("pw"), Params: fastParams})
	if err := v.Set(keyring.Item{Key: "k", Data: []byte("v")}); err != nil {
		f.Fatal(err)
	}
	good, _ := os.ReadFile(v.Path())
	f.Add(good)
	f.Add(good[:len(good)/2])                                                        // truncated
	f.Add(bytes.Replace(good, []byte(`"time": 1`), []byte(`"time": 4294967295`), 1)) // oversized
	f.Add(bytes.Replace(good, []byte(`"memory_kib": 8192`), []byte(`"memory_kib": 4194304`), 1))
	f.Add(bytes.Replace(good, []byte(`"version": 2`), []byte(`"version": 1`), 1))
	f.Add([]byte(`{"format":"docker-credential-oat vault","version":1}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := parse("fuzz", data)
		if err != nil {
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("parse error is not a CorruptError: %v", err)
			}
			return
		}
		if env.KDF.Params.validate() != nil {
			t.Fatal("parse accepted out-of-range parameters")
		}
	})
}

// FuzzFlip changes bytes of a good vault file and opens it with the right
// key: the result is an error, or exactly the original contents. A damaged
// file never yields different data.
func FuzzFlip(f *testing.F) {
	v := New(Options{Path: filepath.Join(f.TempDir(), "d", "oat.vault"), Passphrase: fixed("pw"), Params: fastParams})
	if err := v.Set(keyring.Item{Key: "k", Data: []byte("v")}); err != nil {
		f.Fatal(err)
	}
	good, _ := os.ReadFile(v.Path())
	env, err := parse("good", good)
	if err != nil {
		f.Fatal(err)
	}
	k := deriveKey([]byte("pw"), env.KDF)
	want, err := open("good", env, k)
	if err != nil {
		f.Fatal(err)
	}
	for _, off := range []uint{0, 40, 120, 200, uint(len(good)) - 2} {
		f.Add(off, byte(1), uint(0))
	}
	f.Add(uint(100), byte(0x20), uint(8)) // flip, then cut
	f.Fuzz(func(t *testing.T, off uint, mask byte, cut uint) {
		data := bytes.Clone(good)
		data[off%uint(len(data))] ^= mask
		data = data[:uint(len(data))-cut%uint(len(data))]
		env, err := parse("fuzz", data)
		if err != nil {
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("parse error is not a CorruptError: %v", err)
			}
			return
		}
		if kdfID(env.KDF) != k.id {
			return // other parameters: another key, which the check value refuses
		}
		got, err := open("fuzz", env, k)
		if err == nil && !bytes.Equal(got, want) {
			t.Fatalf("a changed file opened to different contents: %q", got)
		}
	})
}
