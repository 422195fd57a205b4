package main

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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
			strings.HasPrefix(pkg, "github.com/oatkit/oat/internal/classify"),
			strings.HasPrefix(pkg, "github.com/oatkit/oat/internal/hubtest"):
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

// floors are the lowest releases past known advisories (see SECURITY.md).
var floors = map[string]string{
	"github.com/dvsekhvalnov/jose2go": "v1.11.0",
	"github.com/elazarl/goproxy":      "v1.8.4",
	"golang.org/x/crypto":             "v0.35.0",
	"golang.org/x/net":                "v0.38.0",
	"github.com/go-jose/go-jose/v4":   "v4.0.5",
}

func TestDependencyFloors(t *testing.T) {
	t.Parallel()
	mod, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]string{}
	for _, line := range strings.Split(string(mod), "\n") {
		if f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "require ")); len(f) >= 2 {
			found[f[0]] = f[1]
		}
	}
	for path, floor := range floors {
		got, ok := found[path]
		if !ok {
			t.Errorf("%s is not in go.mod any more: drop its floor here and in SECURITY.md", path)
			continue
		}
		if versionLess(got, floor) {
			t.Errorf("%s %s is below %s, the first release past its advisories", path, got, floor)
		}
	}
	if !versionLess("v1.9.2", "v1.10.0") || versionLess("v1.11.0", "v1.11.0") || !versionLess("v0.9.0-pre", "v0.9.0") {
		t.Fatal("versionLess is wrong")
	}
}

// versionLess compares vMAJOR.MINOR.PATCH versions numerically; a
// pre-release or +suffix sorts before its release.
func versionLess(a, b string) bool {
	parse := func(v string) (n [3]int, pre bool) {
		v = strings.TrimPrefix(v, "v")
		if i := strings.IndexAny(v, "-+"); i >= 0 {
			pre = v[i] == '-'
			v = v[:i]
		}
		for i, p := range strings.SplitN(v, ".", 3) {
			n[i], _ = strconv.Atoi(p)
		}
		return n, pre
	}
	na, pa := parse(a)
	nb, pb := parse(b)
	if na != nb {
		for i := range na {
			if na[i] != nb[i] {
				return na[i] < nb[i]
			}
		}
	}
	return pa && !pb
}
