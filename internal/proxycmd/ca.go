package proxycmd

import (
	"flag"
	"fmt"
	"strings"

	"github.com/oatkit/oat/internal/command"
	"github.com/oatkit/oat/internal/hub"
)

func (c *cli) caCommand() *command.Command {
	return &command.Command{
		Name:  "ca",
		Short: "create the proxy's CA on first use and print its certificate's path",
		Long: `Creates this installation's CA on first use (ECDSA P-256, its key 0600,
name-constrained to Docker Hub's hosts) and prints the path of its
certificate, for SSL_CERT_FILE bundles and the clients' trust stores.`,
		Flags: func(*flag.FlagSet) command.Runner {
			return func(args []string) error {
				if err := command.NoArgs(args); err != nil {
					return err
				}
				ca, created, err := c.loadCA()
				if err != nil {
					return err
				}
				if created {
					fmt.Fprintf(c.Stderr, "%s: created a CA for %s (valid until %s)\n", Program, strings.Join(hub.APIHosts, ", "), ca.Cert.NotAfter.Format("2006-01-02"))
				}
				fmt.Fprintln(c.Stdout, ca.CertPath)
				return nil
			}
		},
	}
}
