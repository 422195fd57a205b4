// Package commandtest checks a command table in tests.
package commandtest

import (
	"errors"
	"fmt"
	"go/ast"
	"go/constant"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/oatkit/oat/internal/command"
)

// CheckTable fails t for every command without a description and every
// flag without help, and for two commands of one parent with one name.
func CheckTable(t testing.TB, p *command.Program) {
	t.Helper()
	p.Walk(func(path []*command.Command) {
		cmd := path[len(path)-1]
		name := command.CommandLine(path)
		if strings.TrimSpace(cmd.Short) == "" {
			t.Errorf("%s: no Short description", name)
		}
		if len(path) > 1 && strings.TrimSpace(cmd.Long) == "" {
			t.Errorf("%s: no Long description", name)
		}
		if cmd.Flags == nil && len(cmd.Sub) == 0 {
			t.Errorf("%s: neither runs nor has subcommands", name)
		}
		for _, f := range cmd.FlagList() {
			if strings.TrimSpace(f.Usage) == "" {
				t.Errorf("%s --%s: no help", name, f.Name)
			}
		}
		seen := map[string]bool{}
		for _, s := range cmd.Sub {
			for _, w := range append([]string{s.Name}, s.Aliases...) {
				if seen[w] {
					t.Errorf("%s: two commands named %q", name, w)
				}
				seen[w] = true
			}
		}
	})
}

// envReaders are the names of the functions and methods that read one
// environment variable by name: os.Getenv and os.LookupEnv, and the
// injected Getenv of a program's surroundings.
var envReaders = map[string]bool{"Getenv": true, "getenv": true, "LookupEnv": true}

// CheckEnvReads type-checks the package in the current directory (its
// files for this platform, without tests) and fails t for every read of
// the environment in it that p's table does not document: a call of
// os.Getenv, os.LookupEnv or an injected Getenv whose name is not a
// constant, or names a variable that is neither in p.Env nor among others
// (other programs' variables the package reads as they do, such as
// HTTPS_PROXY). A variable of the table is read through the constant that
// defines it, never spelled out again as a literal.
func CheckEnvReads(t testing.TB, p *command.Program, others ...string) {
	t.Helper()
	pkg, files, info, err := typeCheck()
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			t.Skipf("no go command: %v", err)
		}
		t.Fatal(err)
	}
	reads := 0
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 || !envReaders[calleeName(call.Fun)] {
				return true
			}
			arg := ast.Unparen(call.Args[0])
			tv := info.Types[arg]
			if b, ok := tv.Type.(*types.Basic); !ok || b.Info()&types.IsString == 0 {
				return true // not a read by name
			}
			reads++
			at := pkg.Fset.Position(call.Pos())
			if tv.Value == nil || tv.Value.Kind() != constant.String {
				t.Errorf("%s: reads a variable whose name is not a constant: name it once, in the table", at)
				return true
			}
			name := constant.StringVal(tv.Value)
			_, literal := arg.(*ast.BasicLit)
			switch {
			case p.Reads(name) && literal:
				t.Errorf("%s: reads %s by its literal name: read it through the constant its table entry uses", at, name)
			case !p.Reads(name) && !slices.Contains(others, name):
				t.Errorf("%s: reads %s, which %s's Environment does not list", at, name, p.Root.Name)
			}
			return true
		})
	}
	if reads == 0 {
		t.Errorf("%s: no reads of the environment found: is the check looking at the right package?", pkg.Path)
	}
}

func calleeName(fun ast.Expr) string {
	switch f := ast.Unparen(fun).(type) {
	case *ast.Ident:
		return f.Name
	case *ast.SelectorExpr:
		return f.Sel.Name
	}
	return ""
}

// checked is a package type-checked from its source against its
// dependencies' export data.
type checked struct {
	Path string
	Fset *token.FileSet
}

// typeCheck type-checks the package in the current directory, with the
// export data the go command builds for its dependencies.
func typeCheck() (checked, []*ast.File, *types.Info, error) {
	out, err := exec.Command("go", "list", "-export", "-deps",
		"-f", "{{.ImportPath}}\t{{.Export}}\t{{if not .DepOnly}}{{.Dir}}\t{{join .GoFiles \"\\t\"}}{{end}}", ".").Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			err = fmt.Errorf("go list: %v\n%s", err, exit.Stderr)
		}
		return checked{}, nil, nil, err
	}
	exports := map[string]string{}
	var path, dir string
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\t")
		exports[f[0]] = f[1]
		if len(f) > 3 {
			path, dir, names = f[0], f[2], f[3:]
		}
	}
	pkg := checked{Path: path, Fset: token.NewFileSet()}
	var files []*ast.File
	for _, n := range names {
		f, err := parser.ParseFile(pkg.Fset, filepath.Join(dir, n), nil, parser.SkipObjectResolution)
		if err != nil {
			return pkg, nil, nil, err
		}
		files = append(files, f)
	}
	imp := importer.ForCompiler(pkg.Fset, "gc", func(path string) (io.ReadCloser, error) {
		if exports[path] == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(exports[path])
	})
	info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}}
	if _, err := (&types.Config{Importer: imp}).Check(path, pkg.Fset, files, info); err != nil {
		return pkg, nil, nil, fmt.Errorf("type-check %s: %w", path, err)
	}
	return pkg, files, info, nil
}
