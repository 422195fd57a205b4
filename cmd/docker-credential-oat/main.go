// Command docker-credential-oat is a Docker credential helper for Docker Hub
// organization access tokens, with an encrypted store.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/oatkit/oat/internal/helpercmd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := helpercmd.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
