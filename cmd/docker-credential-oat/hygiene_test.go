package main

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The helper binary carries no proxy code: Docker runs it for every pull, and
// goproxy (with its built-in CA) has no business in it.
func TestHelperDoesNotLinkProxy(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		switch {
		case strings.HasPrefix(pkg, "github.com/elazarl/goproxy"),
			strings.HasPrefix(pkg, "github.com/oatkit/oat/internal/proxy"),
			strings.HasPrefix(pkg, "github.com/oatkit/oat/internal/registry"),
			strings.HasPrefix(pkg, "github.com/oatkit/oat/internal/standin"):
			t.Errorf("docker-credential-oat links %s", pkg)
		}
	}
}

// No code outside tests turns off TLS verification.
func TestNoInsecureSkipVerify(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatal(err)
	}
	needle := []byte("Insecure" + "SkipVerify") // not spelled out, so this file does not match itself
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		checked++
		if bytes.Contains(b, needle) {
			t.Errorf("%s sets %s", path, needle)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 20 {
		t.Fatalf("only %d non-test Go files found under %s", checked, root)
	}
}
