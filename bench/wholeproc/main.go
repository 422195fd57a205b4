// Command wholeproc times whole processes of docker-credential-oat, the way
// Docker runs it: a fresh process per call, stdin in, stdout out. Commands
// are run interleaved, round after round, so that a noisy machine affects
// them alike; it prints the median, spread and ratios as a Markdown table.
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
)

type command struct {
	name  string
	args  []string
	stdin string
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
	env := append(os.Environ(),
		"OAT_HOME="+filepath.Join(home, "oat"),
		"OAT_PASSPHRASE=bench passphrase, not a secret",
		"OAT_PASSPHRASE_FILE=", "OAT_DEBUG=", "OAT_BACKEND=",
	)
	secret := "dckr_oat_" + strings.Repeat("b", 32)
	setup := fmt.Sprintf(`{"ServerURL":"https://index.docker.io/v1/","Username":"acme","Secret":%q}`, secret)
	if _, err := once(helper, env, []string{"store"}, setup); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	got, err := once(helper, env, []string{"get"}, "docker.io\n")
	if err != nil || !strings.Contains(got, secret) {
		return fmt.Errorf("get does not answer with the stored secret: %v", err)
	}
	desc, err := describe(filepath.Join(home, "oat", "oat.vault"))
	if err != nil {
		return err
	}

	cmds := []*command{
		{name: "version", args: []string{"version"}},
		{name: "get (cold: KDF included)", args: []string{"get"}, stdin: "docker.io\n"},
		{name: "list (cold: KDF included)", args: []string{"list"}},
	}
	for range runs {
		for _, c := range cmds {
			start := time.Now()
			if _, err := once(helper, env, c.args, c.stdin); err != nil {
				return fmt.Errorf("%s: %w", c.name, err)
			}
			c.times = append(c.times, time.Since(start))
		}
	}

	fmt.Fprintf(out, "%d runs of each, interleaved; %s/%s, %d CPUs, %s\n", runs, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
	fmt.Fprintf(out, "vault KDF: %s\n\n", desc)
	fmt.Fprintln(out, "| command | median | min | p90 | median / version |")
	fmt.Fprintln(out, "|---|---|---|---|---|")
	base := median(cmds[0].times)
	for _, c := range cmds {
		m := median(c.times)
		fmt.Fprintf(out, "| `%s` | %s | %s | %s | %.2f |\n", c.name, ms(m), ms(slices.Min(c.times)), ms(pct(c.times, 0.9)), float64(m)/float64(base))
	}
	return nil
}

func once(helper string, env, args []string, stdin string) (string, error) {
	cmd := exec.Command(helper, args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		// stdout may hold a protocol answer; never print it, only its error line.
		return "", fmt.Errorf("%w: %s", err, firstLine(stdout.String()+stderr.String()))
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
