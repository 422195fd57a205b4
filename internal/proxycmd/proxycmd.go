// Package proxycmd is the oat-proxy command line.
package proxycmd

import (
	"context"
	"fmt"
	"io"

	"github.com/oatkit/oat/internal/version"
)

// Program is the proxy's executable name.
const Program = "oat-proxy"

const usage = `Usage: oat-proxy <command> [arguments]

A local proxy for Docker Hub that checks every request against the scopes of
the organization access token in use.

Commands:
  version, --version   print the version
  help, --help         print this text
`

// Main runs oat-proxy with args (without the program name) and returns the
// exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	case "-v", "--version", "version":
		fmt.Fprintf(stdout, "%s %s\n", Program, version.Version())
		return 0
	default:
		fmt.Fprintf(stderr, "%s: error: unknown command %q\n%s: hint: run '%s --help' for the commands\n", Program, args[0], Program, Program)
		return 2
	}
}
