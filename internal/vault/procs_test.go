package vault

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/99designs/keyring"
)

// The test binary doubles as a worker process: TestMain runs a worker when
// OAT_VAULT_WORKER says so.
const (
	envWorker = "OAT_VAULT_WORKER" // "mixed" or "store"
	envPath   = "OAT_VAULT_PATH"
	envID     = "OAT_VAULT_WORKER_ID"
	envOps    = "OAT_VAULT_OPS"
	workerPW  = "worker passphrase"
)

func TestMain(m *testing.M) {
	switch os.Getenv(envWorker) {
	case "":
		os.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
		os.Exit(m.Run())
	case "mixed":
		os.Exit(mixedWorker())
	case "store":
		os.Exit(storeWorker())
	}
	os.Exit(2)
}

// workerVault is a fresh vault instance, as a new process would have,
// sharing derived keys through cache (one KDF per worker, not per op).
func workerVault(cache KeyCache) *Vault {
	return New(Options{Path: os.Getenv(envPath), Params: fastParams, Passphrase: fixed(workerPW), Cache: cache, CacheFor: time.Hour, LockTimeout: 2 * time.Minute})
}

// mixedWorker does OAT_VAULT_OPS random store/get/erase operations on its
// own keys and a shared one, each through a fresh vault instance, checking
// every read, and prints its own keys' final values as JSON.
func mixedWorker() int {
	id := os.Getenv(envID)
	ops, _ := strconv.Atoi(os.Getenv(envOps))
	cache := &memCache{keys: map[string][]byte{}}
	want := map[string]string{} // own keys: expected value, "" = absent
	rng := rand.New(rand.NewPCG(uint64(len(id)), uint64(time.Now().UnixNano())))
	for i := range ops {
		key := fmt.Sprintf("w%s/k%d", id, rng.IntN(5))
		v := workerVault(cache)
		var err error
		switch rng.IntN(4) {
		case 0, 1:
			val := fmt.Sprintf("%s-%d", id, i)
			if err = v.Set(keyring.Item{Key: key, Data: []byte(val)}); err == nil {
				want[key] = val
			}
		case 2:
			var item keyring.Item
			item, err = v.Get(key)
			switch {
			case err == keyring.ErrKeyNotFound && want[key] == "":
				err = nil
			case err == nil && string(item.Data) != want[key]:
				err = fmt.Errorf("read %s = %q, want %q", key, item.Data, want[key])
			}
			if _, serr := v.Get("shared"); serr != nil {
				err = fmt.Errorf("read shared: %w", serr)
			}
		case 3:
			if err = v.Remove(key); err == nil || err == keyring.ErrKeyNotFound {
				err = nil
				want[key] = ""
			}
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "worker %s op %d: %v\n", id, i, err)
			return 1
		}
	}
	b, _ := json.Marshal(want)
	fmt.Println(string(b))
	return 0
}

// storeWorker sets every key named on stdin to its new value in one write,
// and is killed by the parent at a random moment.
func storeWorker() int {
	var items map[string]string
	if err := json.NewDecoder(os.Stdin).Decode(&items); err != nil {
		return 1
	}
	v := New(Options{Path: os.Getenv(envPath), Params: fastParams, Passphrase: fixed(workerPW)})
	err := v.Batch(func(tx *Tx) error {
		for k, val := range items {
			tx.Set(keyring.Item{Key: k, Data: []byte(val)})
		}
		return nil
	})
	if err != nil {
		return 1
	}
	return 0
}

// skipHeavy skips the many-process tests under -short and -race: what they
// test happens between processes, where the race detector sees nothing, and
// it makes them ten times slower. make test runs them without it.
func skipHeavy(t *testing.T) {
	t.Helper()
	if testing.Short() || raceBuild {
		t.Skip("many processes: run without -race and -short (make test does)")
	}
}

// storeDuration is how long a whole store process takes here (the slowest
// of three), with a margin.
func storeDuration(t *testing.T, path string, keys []string) time.Duration {
	t.Helper()
	var longest time.Duration
	for range 3 {
		cmd := worker(t, "store", path, "time", 0)
		cur := map[string]string{}
		v := New(Options{Path: path, Params: fastParams, Passphrase: fixed(workerPW)})
		for _, k := range keys {
			item, err := v.Get(k)
			if err != nil {
				t.Fatal(err)
			}
			cur[k] = string(item.Data)
		}
		in, _ := json.Marshal(cur) // the same values: nothing changes
		cmd.Stdin = strings.NewReader(string(in))
		start := time.Now()
		if err := cmd.Run(); err != nil {
			t.Fatalf("store: %v", err)
		}
		longest = max(longest, time.Since(start))
	}
	return longest * 13 / 10
}

func worker(t *testing.T, kind, path, id string, ops int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envWorker+"="+kind, envPath+"="+path, envID+"="+id, envOps+"="+strconv.Itoa(ops))
	return cmd
}

// TestManyProcesses: 64 processes, 200 mixed operations each, on one vault.
// No read fails, no write is lost, and the final state is what each
// process last wrote.
func TestManyProcesses(t *testing.T) {
	skipHeavy(t)
	procs, ops := 64, 200
	path := filepath.Join(t.TempDir(), "v", "oat.vault")
	v := New(Options{Path: path, Params: fastParams, Passphrase: fixed(workerPW)})
	mustSet(t, v, "shared", "x")

	var wg sync.WaitGroup
	finals := make([]map[string]string, procs)
	errs := make([]error, procs)
	start := time.Now()
	for p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := worker(t, "mixed", path, strconv.Itoa(p), ops)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				errs[p] = fmt.Errorf("%v: %s", err, stderr.String())
				return
			}
			errs[p] = json.Unmarshal(out, &finals[p])
		}()
	}
	wg.Wait()
	t.Logf("%d processes x %d operations in %v", procs, ops, time.Since(start).Round(time.Millisecond))
	for p, err := range errs {
		if err != nil {
			t.Errorf("process %d: %v", p, err)
		}
	}
	check := New(Options{Path: path, Params: fastParams, Passphrase: fixed(workerPW)})
	keys, err := check.Keys()
	if err != nil {
		t.Fatalf("the vault does not open: %v", err)
	}
	present := map[string]bool{}
	for _, k := range keys {
		present[k] = true
	}
	for p, want := range finals {
		for key, val := range want {
			item, err := check.Get(key)
			switch {
			case val == "" && err != keyring.ErrKeyNotFound:
				t.Errorf("process %d erased %s last, but it holds %q (%v)", p, key, item.Data, err)
			case val != "" && (err != nil || string(item.Data) != val):
				t.Errorf("process %d wrote %s = %q last, the vault holds %q (%v)", p, key, val, item.Data, err)
			}
		}
	}
}

// TestKilledStores: a store killed (SIGKILL) at a random moment, 300 times:
// the vault always opens and every entry holds its old or its new value.
func TestKilledStores(t *testing.T) {
	skipHeavy(t)
	path := filepath.Join(t.TempDir(), "v", "oat.vault")
	v := New(Options{Path: path, Params: fastParams, Passphrase: fixed(workerPW)})
	keys := []string{"a", "b", "c", "d"}
	cur := map[string]string{}
	for _, k := range keys {
		cur[k] = k + "-0"
		mustSet(t, v, k, cur[k])
	}
	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	// Kill at a uniformly random moment of a whole store, start to exit.
	span := storeDuration(t, path, keys)
	killed, completed := 0, 0
	for round := 1; round <= 300; round++ {
		next := map[string]string{}
		for _, k := range keys {
			next[k] = fmt.Sprintf("%s-%d-%s", k, round, strings.Repeat("x", rng.IntN(300)))
		}
		cmd := worker(t, "store", path, "kill", 0)
		in, _ := json.Marshal(next)
		cmd.Stdin = strings.NewReader(string(in))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.Int64N(int64(span))))
		_ = cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			killed++
		} else if err == nil {
			completed++
		}

		check := New(Options{Path: path, Params: fastParams, Passphrase: fixed(workerPW)})
		all, err := check.Items("")
		if err != nil {
			t.Fatalf("round %d: the vault does not open after a kill: %v", round, err)
		}
		got := map[string]string{}
		for _, it := range all {
			got[it.Key] = string(it.Data)
		}
		isNew := got["a"] == next["a"]
		for _, k := range keys {
			want := cur[k]
			if isNew {
				want = next[k]
			}
			if got[k] != want {
				t.Fatalf("round %d: %s = %q, want the old %q or (with the others) the new %q", round, k, got[k], cur[k], next[k])
			}
		}
		if isNew {
			cur = next
		}
	}
	t.Logf("300 rounds over %v: %d killed mid-way, %d finished before the kill", span.Round(time.Millisecond), killed, completed)
	if killed < 100 || completed < 10 {
		t.Errorf("%d killed, %d finished: the kills do not spread over the store", killed, completed)
	}
	// No temporary files are left behind once a writer has cleaned up.
	mustSet(t, v, "z", "z")
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".oat-vault-*.tmp"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}
