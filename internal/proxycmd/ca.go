package proxycmd

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/oatkit/oat/internal/command"
	"github.com/oatkit/oat/internal/hub"
)

// caReport is ca --json's answer: the certificate, never the key.
type caReport struct {
	Path     string    `json:"path"`
	Created  bool      `json:"created"`
	SHA256   string    `json:"sha256"` // of the certificate's DER, hex
	NotAfter time.Time `json:"not_after"`
	Hosts    []string  `json:"hosts"` // the names it may sign for (its name constraints)
}

func (c *cli) caCommand() *command.Command {
	return &command.Command{
		Name:  "ca",
		Short: "create the proxy's CA on first use and print its certificate's path",
		Long: `Creates this installation's CA on first use (ECDSA P-256, its key 0600,
name-constrained to Docker Hub's hosts) and prints the path of its
certificate, for SSL_CERT_FILE bundles and the clients' trust stores.
With --json: the path, whether it was just created, the certificate's
SHA-256 fingerprint, its expiry and the hosts it may sign for (never the
key).`,
		Flags: func(fs *flag.FlagSet) command.Runner {
			asJSON := fs.Bool("json", false, "print the CA's path, fingerprint, expiry and hosts as JSON")
			return func(args []string) error {
				if err := command.NoArgs(args); err != nil {
					return err
				}
				ca, created, err := c.loadCA()
				if err != nil {
					return err
				}
				if *asJSON {
					sum := sha256.Sum256(ca.Cert.Raw)
					return command.PrintJSON(c.Stdout, caReport{
						Path: ca.CertPath, Created: created, SHA256: hex.EncodeToString(sum[:]),
						NotAfter: ca.Cert.NotAfter.UTC(), Hosts: append([]string{}, ca.Cert.PermittedDNSDomains...),
					})
				}
				if created {
					fmt.Fprintf(c.Stderr, "%s: created a CA for %s (valid until %s)\n", Program, strings.Join(hub.APIHosts, ", "), ca.Cert.NotAfter.Format(time.DateOnly))
				}
				fmt.Fprintln(c.Stdout, ca.CertPath)
				return nil
			}
		},
	}
}
