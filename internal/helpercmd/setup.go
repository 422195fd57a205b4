package helpercmd

import (
	"flag"
	"fmt"
	"os/exec"
	"path/filepath"

	"github.com/oatkit/oat/internal/command"
	"github.com/oatkit/oat/internal/dockerconfig"
	"github.com/oatkit/oat/internal/textdiff"
)

func (c *cli) setupCommand() *command.Command {
	return &command.Command{
		Name:  "setup",
		Short: "wire ~/.docker/config.json to use this helper",
		Long: `Wires $DOCKER_CONFIG/config.json (default ~/.docker/config.json) to use this
helper: by default for Docker Hub only (credHelpers), with --creds-store for
every registry (credsStore). Every other setting in the file is kept; the
file is replaced atomically; running it again changes nothing.`,
		Flags: func(fs *flag.FlagSet) command.Runner {
			credsStore := fs.Bool("creds-store", false, "make docker-credential-oat the store for all registries (credsStore)")
			dryRun := fs.Bool("dry-run", false, "print the change as a diff and write nothing")
			return func(args []string) error {
				if err := command.NoArgs(args); err != nil {
					return err
				}
				return c.setup(*credsStore, *dryRun)
			}
		},
	}
}

func (c *cli) setup(credsStore, dryRun bool) error {
	mode := dockerconfig.CredHelpers
	if credsStore {
		mode = dockerconfig.CredsStore
	}
	dir, err := dockerconfig.Dir(c.Getenv)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, dockerconfig.File)
	progress := c.progress()
	progress.Step("setup: reading %s", path)
	old, target, perm, err := dockerconfig.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	updated, changes, err := dockerconfig.Wire(old, mode)
	if err != nil {
		return command.WithHint(fmt.Errorf("%s: %w", path, err), "fix the file by hand (it was left untouched), then run setup again")
	}
	if len(changes) == 0 {
		fmt.Fprintf(c.Stdout, "%s already uses docker-credential-oat; nothing to do\n", path)
		return nil
	}
	if dryRun {
		fmt.Fprint(c.Stdout, textdiff.Unified(path, string(old), string(updated)))
		return nil
	}
	progress.Step("setup: writing %s (a temporary file, synced, renamed over it)", target)
	if err := dockerconfig.WriteFile(target, updated, perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	fmt.Fprintf(c.Stdout, "updated %s:\n", path)
	for _, ch := range changes {
		fmt.Fprintf(c.Stdout, "  %s\n", ch)
	}
	if _, err := exec.LookPath(Program); err != nil {
		c.warn(Program + " is not on PATH, so Docker will not find it; install it next to docker or add its directory to PATH")
	}
	return nil
}
