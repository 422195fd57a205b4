package proxycmd

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/oatkit/oat/internal/command"
	"github.com/oatkit/oat/internal/proxyauth"
)

func (c *cli) runCommand() *command.Command {
	return &command.Command{
		Name: "run", Args: "-- CMD [ARG...]", FlagsFirst: true,
		Short: "run a command with its own proxy: start, run, stop, exit with its status",
		Long: `Starts the proxy on a free loopback port with a fresh one-time proxy
secret, runs CMD with HTTPS_PROXY, https_proxy and SSL_CERT_FILE set for it,
forwards signals to it, stops the proxy when it ends and exits with its
status. The secret lives in memory only, for this run. With --inject, CMD
needs no credentials at all: the proxy attaches the least-privileged token
that covers each request, and the tokens never reach CMD.

  oat-proxy run --inject -- crane pull acme/app:1 app.tar
  oat-proxy run --deny-other-hosts --audit-log audit.jsonl -- docker buildx build .`,
		Flags: func(fs *flag.FlagSet) command.Runner {
			var o serveOptions
			o.register(fs)
			return func(args []string) error {
				if len(args) == 0 {
					return command.Usagef("give the command to run, after --")
				}
				if err := o.check(); err != nil {
					return err
				}
				return c.run(o, args)
			}
		},
	}
}

func (c *cli) run(o serveOptions, argv []string) error {
	path, err := exec.LookPath(argv[0])
	if err != nil {
		fmt.Fprintf(c.Stderr, "%s: error: %v\n", Program, err)
		return command.ExitCode(127)
	}
	level := slog.LevelWarn
	if command.Debug.On(c.Getenv) {
		level = slog.LevelDebug
	}
	log := newLogger(c.Stderr, logText, level)
	secret := proxyauth.New()
	inst, err := c.start(o, "127.0.0.1:0", secret, log)
	if err != nil {
		return err
	}
	defer inst.stop(0)
	bundle, err := c.bundle()
	if err != nil {
		return err
	}
	unproxied := ""
	if o.inject {
		if unproxied = c.daemonWithoutProxy(c.ctx, path); unproxied != "" {
			fmt.Fprintf(c.Stderr, "%s: warning: %s.\n", Program, unproxied)
		}
	}
	url := proxyauth.URL(inst.addr, secret)
	cmd := exec.Command(path, argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.Stdin, c.Stdout, c.Stderr
	cmd.Env = c.environ()
	for _, v := range clientEnv(url, bundle) {
		cmd.Env = append(cmd.Env, v[0]+"="+v[1])
	}

	// Signals go to CMD, which decides; the proxy stops when CMD has.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, forwarded...)
	defer func() { signal.Stop(sigs); close(sigs) }() // ends the forwarder
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() {
		for s := range sigs {
			_ = cmd.Process.Signal(s)
		}
	}()
	err = cmd.Wait()
	if err != nil && unproxied != "" {
		fmt.Fprintf(c.Stderr, "%s: hint: %s.\n", Program, unproxied)
	}
	if err != nil {
		// Some clients show no text of a refusal (regctl shows no token
		// body; BuildKit falls back to the daemon's own attempt): the
		// sentences come from here.
		for _, msg := range inst.proxy.LastRefusals() {
			fmt.Fprintf(c.Stderr, "%s: refused: %s\n", Program, msg)
		}
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &exit):
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return command.ExitCode(128 + int(ws.Signal()))
		}
		return command.ExitCode(exit.ExitCode())
	}
	return err
}

// environ is the process's environment, without the variables run sets.
func (c *cli) environ() []string {
	env := os.Environ
	if c.Environ != nil {
		env = c.Environ
	}
	set := clientEnv("", "")
	var out []string
	for _, kv := range env() {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.ContainsFunc(set, func(v [2]string) bool { return v[0] == name }) {
			out = append(out, kv)
		}
	}
	return out
}
