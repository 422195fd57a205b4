// Command gen writes the man pages and shell completions of both binaries
// from their command tables into packaging/man and packaging/completions.
// It runs in the packaging module (make generate):
//
//	go -C packaging run ./gen [-dir .]
//
// The files are committed; a test fails when they are stale.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/oatkit/oat/internal/command"
	"github.com/oatkit/oat/internal/helpercmd"
	"github.com/oatkit/oat/internal/proxycmd"
)

// source is the man pages' footer: the package they come from.
const source = "oat"

// Files is every generated file, by its path under the packaging directory.
func Files() (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, p := range []*command.Program{helpercmd.Table(), proxycmd.Table()} {
		name := p.Root.Name
		var man bytes.Buffer
		p.Man(&man, source)
		out[filepath.Join("man", name+".1")] = man.Bytes()
		for shell, file := range map[string]string{
			"bash": filepath.Join("completions", "bash", name),
			"zsh":  filepath.Join("completions", "zsh", "_"+name),
			"fish": filepath.Join("completions", "fish", name+".fish"),
		} {
			var b bytes.Buffer
			if err := p.Completion(&b, shell); err != nil {
				return nil, err
			}
			out[file] = b.Bytes()
		}
	}
	return out, nil
}

func main() {
	dir := flag.String("dir", ".", "the packaging directory to write into")
	flag.Parse()
	files, err := Files()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen: error:", err)
		os.Exit(1)
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		path := filepath.Join(*dir, n)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "gen: error:", err)
			os.Exit(1)
		}
		if err := os.WriteFile(path, files[n], 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "gen: error:", err)
			os.Exit(1)
		}
		fmt.Println(path)
	}
}
