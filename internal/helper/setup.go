package helper

import (
	"flag"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"

	"github.com/oatkit/oat/internal/dockerconfig"
	"github.com/oatkit/oat/internal/textdiff"
)

const setupUsage = `Usage: docker-credential-oat setup [--creds-store] [--dry-run]

Wires $DOCKER_CONFIG/config.json (default ~/.docker/config.json) to use this
helper: by default for Docker Hub only (credHelpers), with --creds-store for
every registry (credsStore). Every other setting in the file is kept.

  --creds-store   make docker-credential-oat the store for all registries
  --dry-run       print the change as a diff and write nothing
`

func (c *cli) setup(args []string) int {
	fs := flag.NewFlagSet("setup", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	credsStore := fs.Bool("creds-store", false, "")
	dryRun := fs.Bool("dry-run", false, "")
	if err := fs.Parse(args); err != nil {
		return c.usageError(err, setupUsage)
	}
	if fs.NArg() > 0 {
		return c.usageError(fmt.Errorf("unexpected argument %q", fs.Arg(0)), setupUsage)
	}
	mode := dockerconfig.CredHelpers
	if *credsStore {
		mode = dockerconfig.CredsStore
	}

	dir, err := dockerconfig.Dir(c.Getenv)
	if err != nil {
		c.fail(err, "")
		return 1
	}
	path := filepath.Join(dir, "config.json")
	old, target, perm, err := dockerconfig.ReadFile(path)
	if err != nil {
		c.fail(fmt.Errorf("read %s: %w", path, err), "")
		return 1
	}
	updated, changes, err := dockerconfig.Wire(old, mode)
	if err != nil {
		c.fail(fmt.Errorf("%s: %w", path, err), "fix the file by hand (it was left untouched), then run setup again")
		return 1
	}
	if len(changes) == 0 {
		fmt.Fprintf(c.Stdout, "%s already uses docker-credential-oat; nothing to do\n", path)
		return 0
	}
	if *dryRun {
		fmt.Fprint(c.Stdout, textdiff.Unified(path, string(old), string(updated)))
		return 0
	}
	if err := dockerconfig.WriteFile(target, updated, perm); err != nil {
		c.fail(fmt.Errorf("write %s: %w", path, err), "")
		return 1
	}
	fmt.Fprintf(c.Stdout, "updated %s:\n", path)
	for _, ch := range changes {
		fmt.Fprintf(c.Stdout, "  %s\n", ch)
	}
	if _, err := exec.LookPath(Program); err != nil {
		fmt.Fprintf(c.Stderr, "%s: warning: %s is not on PATH, so Docker will not find it; install it next to docker or add its directory to PATH\n", Program, Program)
	}
	return 0
}

func (c *cli) usageError(err error, usage string) int {
	if err == flag.ErrHelp {
		fmt.Fprint(c.Stdout, usage)
		return 0
	}
	fmt.Fprintf(c.Stderr, "%s: error: %v\n%s", Program, err, usage)
	return 2
}
