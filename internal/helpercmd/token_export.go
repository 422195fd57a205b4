package helpercmd

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/oatkit/oat/internal/command"
	"github.com/oatkit/oat/internal/oat"
	"github.com/oatkit/oat/internal/passphrase"
	"github.com/oatkit/oat/internal/store"
)

// EnvExportPassphraseFile names the file holding the passphrase of a vault
// that token export writes.
const EnvExportPassphraseFile = "OAT_EXPORT_PASSPHRASE_FILE"

func (c *cli) tokenExportCommand() *command.Command {
	return &command.Command{
		Name:  "export",
		Short: "write token records into a new vault, for a Kubernetes Secret",
		Long: `Writes the chosen token records, secrets included, into a new encrypted
vault FILE, in the same format as the store's file vault, for oat-proxy on
another machine: a Kubernetes Secret (kubectl create secret generic
oat-proxy-vault --from-file=oat.vault=FILE), read by 'oat-proxy serve
--vault'. Without --org or --label every token record is exported.

The new vault has its own passphrase, read from the file that
--passphrase-file or $` + EnvExportPassphraseFile + ` names (at least 8
characters; never from the command line). FILE must not exist unless
--force is given; it is replaced atomically and made 0600. Secrets are
never printed.`,
		Flags: func(fs *flag.FlagSet) command.Runner {
			var labels listFlag
			out := fs.String("vault", "", "the new vault `FILE` to write (required)")
			org := fs.String("org", "", "only the tokens of organization `ORG`")
			fs.Var(&labels, "label", "only the tokens labelled `LABEL,...` (repeatable; ORG/LABEL names one organization's)")
			passFile := fs.String("passphrase-file", "", "the `FILE` holding the new vault's passphrase (default $"+EnvExportPassphraseFile+")")
			force := fs.Bool("force", false, "replace FILE if it exists")
			return func(args []string) error {
				if err := command.NoArgs(args); err != nil {
					return err
				}
				if *out == "" {
					return command.Usagef("give the vault to write with --vault FILE")
				}
				pf := *passFile
				name := "--passphrase-file"
				if pf == "" {
					pf, name = c.Getenv(EnvExportPassphraseFile), EnvExportPassphraseFile
				}
				if pf == "" {
					return command.WithHint(errors.New("no passphrase for the exported vault"),
						"put it in a file and give --passphrase-file FILE or set "+EnvExportPassphraseFile)
				}
				return c.tokenExport(*out, strings.ToLower(*org), labels.values, passphrase.FromFile(name, pf), *force)
			}
		},
	}
}

func (c *cli) tokenExport(out, org string, labels []string, pass func(bool) ([]byte, error), force bool) error {
	all, err := c.readTokens()
	if err != nil {
		return err
	}
	chosen, err := chooseExport(all, org, labels)
	if err != nil {
		return err
	}
	if !force {
		if _, err := os.Lstat(out); err == nil {
			return command.WithHint(fmt.Errorf("%s exists", out), "give --force to replace it, or another --vault FILE")
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	// The vault is made in a private directory next to FILE, then renamed
	// over it: FILE is whole or absent, and no lock file is left beside it.
	dir, err := os.MkdirTemp(filepath.Dir(out), ".oat-export-*")
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, store.VaultFile)
	s := store.OpenVault(store.VaultConfig{Path: tmp, Passphrase: pass, Params: c.VaultParams, Logger: c.log})
	if err := s.ApplyTokens(chosen); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	ids := make([]string, 0, len(chosen))
	for _, t := range chosen {
		ids = append(ids, t.ID())
	}
	fmt.Fprintf(c.Stdout, "exported %d token records to %s: %s\n", len(chosen), out, strings.Join(ids, ", "))
	fmt.Fprintf(c.Stdout, "kubectl create secret generic oat-proxy-vault --from-file=%s=%s\n", store.VaultFile, out)
	return nil
}

// chooseExport picks the records --org and --label name; every label
// given must match one.
func chooseExport(all []oat.Token, org string, labels []string) ([]oat.Token, error) {
	if org != "" {
		all = oat.ForOrg(all, org)
	}
	if len(labels) == 0 {
		if len(all) == 0 {
			return nil, command.WithHint(errors.New("no token records to export"), "add one with '"+Program+" token add'")
		}
		return all, nil
	}
	var chosen []oat.Token
	seen := map[string]bool{}
	for _, l := range labels {
		lorg, label, ok := strings.Cut(l, "/")
		if !ok {
			lorg, label = "", l
		}
		found := false
		for _, t := range all {
			if t.Label == label && (lorg == "" || strings.EqualFold(t.Org, lorg)) {
				found = true
				if !seen[t.ID()] {
					seen[t.ID()] = true
					chosen = append(chosen, t)
				}
			}
		}
		if !found {
			return nil, command.WithHint(fmt.Errorf("no token labelled %q", l), "see '"+Program+" token ls'")
		}
	}
	return chosen, nil
}
