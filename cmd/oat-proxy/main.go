// Command oat-proxy is a local proxy that checks Docker Hub requests against
// the scopes of the organization access token in use, and refuses
// out-of-scope ones before they reach Docker Hub.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/oatkit/oat/internal/proxycmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := proxycmd.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
