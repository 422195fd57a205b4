// Command oat-demo runs the demonstration of `make demo`: a stand-in Docker
// Hub on loopback, an organization access token added with its scopes, and
// a registry client pulling and pushing through oat-proxy and without it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/oatkit/oat/cmd/oat-demo/internal/demo"
)

func main() {
	bin := flag.String("bin", "bin", "directory holding the built binaries")
	client := flag.String("client", "", "the registry client: docker or crane (default: docker when installed, else crane)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := demo.Run(ctx, demo.Options{Bin: *bin, Client: *client, Out: os.Stdout})
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "oat-demo:", err)
		os.Exit(1)
	}
}
