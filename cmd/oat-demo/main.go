// Command oat-demo runs the demonstration of `make demo`: a stand-in Docker
// Hub on loopback, and an organization access token stored, read back and
// used through docker-credential-oat.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/oatkit/oat/internal/demo"
)

func main() {
	bin := flag.String("bin", "bin", "directory holding the built binaries")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := demo.Run(ctx, demo.Options{Bin: *bin, Out: os.Stdout})
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "oat-demo:", err)
		os.Exit(1)
	}
}
