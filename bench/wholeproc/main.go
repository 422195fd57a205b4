// Command wholeproc times whole processes of docker-credential-oat, the way
// Docker runs it: a fresh process per call, stdin in, stdout out. Commands
// are run interleaved, round after round, so that a noisy machine affects
// them alike; it prints medians, spread and ratios as Markdown tables.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/oatkit/oat/internal/keyringtest"
)

type command struct {
	name  string
	bin   string
	args  []string
	stdin string
	env   []string
	times []time.Duration
}

func main() {
	bin := flag.String("bin", "bin", "directory holding docker-credential-oat")
	runs := flag.Int("runs", 30, "runs of each command")
	flag.Parse()
	if err := run(*bin, *runs, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "wholeproc:", err)
		os.Exit(1)
	}
}

const secret = "dckr_oat_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

func run(bin string, runs int, out io.Writer) error {
	helper, err := filepath.Abs(filepath.Join(bin, "docker-credential-oat"))
	if err != nil {
		return err
	}
	home, err := os.MkdirTemp("", "oat-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(home)
	base := []string{"OAT_PASSPHRASE=bench passphrase, not a secret", "OAT_PASSPHRASE_FILE=", "OAT_DEBUG=", "OAT_BACKEND=", "OAT_CACHE=", "OAT_QUIET=1"}
	env := func(dir string) []string {
		return append(append(os.Environ(), base...), "OAT_HOME="+filepath.Join(home, dir))
	}
	cold, warm, warm100 := env("cold"), env("warm"), env("warm100")

	setup := fmt.Sprintf(`{"ServerURL":"https://index.docker.io/v1/","Username":"acme","Secret":%q}`, secret)
	for _, e := range [][]string{cold, warm, warm100} {
		if _, err := once(helper, e, []string{"store"}, setup); err != nil {
			return fmt.Errorf("store: %w", err)
		}
	}
	for _, e := range [][]string{warm, warm100} {
		if _, err := once(helper, e, []string{"unlock", "--for", "30m"}, ""); err != nil {
			return fmt.Errorf("unlock: %w", err)
		}
		defer once(helper, e, []string{"lock"}, "")
	}
	for i := range 99 {
		c := fmt.Sprintf(`{"ServerURL":"registry%d.example.com","Username":"robot%d","Secret":"s%d"}`, i, i, i)
		if _, err := once(helper, warm100, []string{"store"}, c); err != nil {
			return fmt.Errorf("store %d: %w", i, err)
		}
	}
	if got, err := once(helper, warm100, []string{"list"}, ""); err != nil || strings.Count(got, `":"`) != 100 {
		return fmt.Errorf("list does not hold 100 records: %v", err)
	}
	for _, e := range [][]string{cold, warm} {
		got, err := once(helper, e, []string{"get"}, "docker.io\n")
		if err != nil || !strings.Contains(got, secret) {
			return fmt.Errorf("get does not answer with the stored secret: %v", err)
		}
	}
	desc, err := describe(filepath.Join(home, "cold", "oat.vault"))
	if err != nil {
		return err
	}

	cmds := []*command{
		{name: "version", bin: helper, args: []string{"version"}, env: warm},
		{name: "get, warm (unlocked)", bin: helper, args: []string{"get"}, stdin: "docker.io\n", env: warm},
		{name: "list, 100 records, warm", bin: helper, args: []string{"list"}, env: warm100},
		{name: "get, cold (KDF included)", bin: helper, args: []string{"get"}, stdin: "docker.io\n", env: cold},
	}
	if kf, err := keyringFile(home); err == nil {
		cmds = append(cmds, kf)
	} else {
		fmt.Fprintln(os.Stderr, "wholeproc: the keyring file-backend helper:", err)
	}
	others, stop := otherHelpers(home, helper, base)
	defer stop()
	cmds = append(cmds, others...)
	for range runs {
		for _, c := range cmds {
			start := time.Now()
			if _, err := once(c.bin, c.env, c.args, c.stdin); err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
			c.times = append(c.times, time.Since(start))
		}
	}

	fmt.Fprintf(out, "%d runs of each, interleaved; %s/%s, %d CPUs, %s\n", runs, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	fmt.Fprintf(out, "vault KDF: %s; warm = unlocked (key in the kernel keyring)\n\n", desc)
	fmt.Fprintln(out, "| command | median | min | p90 | median / version |")
	fmt.Fprintln(out, "|---|---|---|---|---|")
	version := median(cmds[0].times)
	for _, c := range cmds {
		m := median(c.times)
		fmt.Fprintf(out, "| %s | %s | %s | %s | %.2f |\n", c.name, ms(m), ms(slices.Min(c.times)), ms(pct(c.times, 0.9)), float64(m)/float64(version))
	}
	fmt.Fprintln(out)
	warmGet := median(cmds[1].times)
	fmt.Fprintf(out, "- warm get / version: %.2f (target ≤ 1.3)\n", float64(warmGet)/float64(version))
	fmt.Fprintf(out, "- list of 100, warm / version: %.2f (target ≤ 1.5)\n", float64(median(cmds[2].times))/float64(version))
	for _, c := range cmds[4:] {
		fmt.Fprintf(out, "- warm get / %s: %.2f\n", c.name, float64(warmGet)/float64(median(c.times)))
	}
	return nil
}

// otherHelpers sets up the helpers people use today, where this machine has
// them (Debian's golang-docker-credential-helpers, pass, gnome-keyring),
// and our helper on the Secret Service: the same credential in each.
func otherHelpers(home, helper string, base []string) ([]*command, func()) {
	var cmds []*command
	var stops []func()
	stop := func() {
		for _, s := range stops {
			s()
		}
	}
	cred := fmt.Sprintf(`{"ServerURL":"https://index.docker.io/v1/","Username":"acme","Secret":%q}`, secret)
	add := func(name, bin string, env []string) {
		if _, err := once(bin, env, []string{"store"}, cred); err != nil {
			fmt.Fprintf(os.Stderr, "wholeproc: %s: store: %v\n", name, err)
			return
		}
		if got, err := once(bin, env, []string{"get"}, "https://index.docker.io/v1/\n"); err != nil || !strings.Contains(got, secret) {
			fmt.Fprintf(os.Stderr, "wholeproc: %s: get: %v\n", name, err)
			return
		}
		cmds = append(cmds, &command{name: name, bin: bin, args: []string{"get"}, stdin: "https://index.docker.io/v1/\n", env: env})
	}
	if bin, err := exec.LookPath("docker-credential-pass"); err == nil {
		if p, err := keyringtest.SetupPass(filepath.Join(home, "pass")); err == nil {
			stops = append(stops, p.Stop)
			add("get, docker-credential-pass (gpg)", bin, append(os.Environ(), p.Env...))
		} else {
			fmt.Fprintln(os.Stderr, "wholeproc: pass:", err)
		}
	}
	if bin, err := exec.LookPath("docker-credential-secretservice"); err == nil {
		if ss, err := keyringtest.StartSecretService(filepath.Join(home, "ss")); err == nil {
			stops = append(stops, ss.Stop)
			env := append(os.Environ(), ss.Env...)
			add("get, docker-credential-secretservice", bin, env)
			add("get, ours on the Secret Service", helper, append(append(append(env, base...), "OAT_HOME="+filepath.Join(home, "ss-oat")), "OAT_BACKEND=secret-service"))
		} else {
			fmt.Fprintln(os.Stderr, "wholeproc: secret service:", err)
		}
	}
	return cmds, stop
}

// keyringFile builds the comparison helper on 99designs/keyring's file
// backend and stores the same credential in it.
func keyringFile(home string) (*command, error) {
	bin := filepath.Join(home, "keyringfile")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "./bench/keyringfile")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%v: %s", err, out)
	}
	env := append(os.Environ(), "KEYRING_FILE_DIR="+filepath.Join(home, "keyringfile.d"), "KEYRING_FILE_PASSWORD=bench passphrase, not a secret")
	c := fmt.Sprintf(`{"ServerURL":"https://index.docker.io/v1/","Username":"acme","Secret":%q}`, secret)
	if _, err := once(bin, env, []string{"store"}, c); err != nil {
		return nil, err
	}
	if got, err := once(bin, env, []string{"get"}, "https://index.docker.io/v1/\n"); err != nil || !strings.Contains(got, secret) {
		return nil, fmt.Errorf("get: %v", err)
	}
	return &command{name: "get, 99designs/keyring file backend", bin: bin, args: []string{"get"}, stdin: "https://index.docker.io/v1/\n", env: env}, nil
}

func once(bin string, env, args []string, stdin string) (string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		// stdout may hold a protocol answer; never print it, only its error line.
		return "", fmt.Errorf("%w: %s", err, firstLine(stderr.String()+stdout.String()))
	}
	return stdout.String(), nil
}

// describe reads the KDF parameters from the vault's header (plaintext by
// design; it holds no secret).
func describe(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var v struct {
		KDF struct {
			Name      string `json:"name"`
			Time      int    `json:"time"`
			MemoryKiB int    `json:"memory_kib"`
			Threads   int    `json:"threads"`
		} `json:"kdf"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	k := v.KDF
	return fmt.Sprintf("%s, time=%d, memory=%d MiB, threads=%d", k.Name, k.Time, k.MemoryKiB/1024, k.Threads), nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func median(ts []time.Duration) time.Duration { return pct(ts, 0.5) }

func pct(ts []time.Duration, p float64) time.Duration {
	s := slices.Clone(ts)
	slices.Sort(s)
	return s[int(p*float64(len(s)-1)+0.5)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
