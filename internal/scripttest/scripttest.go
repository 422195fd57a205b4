// Package scripttest runs a command's script tests (testscript) against its
// real main function.
package scripttest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// Main is a TestMain: the test binary acts as the command name when run
// under that name, and runs the tests otherwise.
func Main(m *testing.M, name string, main func()) {
	// A binary built with -race sleeps a second at exit by default; the
	// scripts run it hundreds of times.
	os.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	if filepath.Base(os.Args[0]) != name {
		isolateKeyrings()
	}
	testscript.Main(m, map[string]func(){name: main})
}
