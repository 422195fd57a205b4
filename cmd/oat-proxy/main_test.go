package main

import (
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/oatkit/oat/internal/scripttest"
)

func TestMain(m *testing.M) { scripttest.Main(m, "oat-proxy", main) }

func TestScripts(t *testing.T) {
	t.Parallel()
	testscript.Run(t, testscript.Params{Dir: filepath.Join("testdata", "script")})
}
