package readme

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// layoutRows reads the paths the README's layout table names: every code
// span of each row's first cell, without a trailing slash, with the line
// of the row.
func layoutRows(t *testing.T) map[string]int {
	t.Helper()
	f, err := os.Open("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows := map[string]int{}
	section, n := false, 0
	code := regexp.MustCompile("`([^`]+)`")
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			section = line == "## Layout"
			continue
		}
		if !section || !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for _, m := range code.FindAllStringSubmatch(cells[0], -1) {
			rows[strings.TrimSuffix(m[1], "/")] = n
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatal("no layout table (## Layout) in README.md")
	}
	return rows
}

// goDirs are the repository's directories that hold Go files, relative to
// its root, found by walking the tree as the go command would see it
// (nested modules included), leaving out .git, .tools and every other
// directory whose name starts with . or _, testdata and vendor.
func goDirs(t *testing.T, root string) []string {
	t.Helper()
	seen := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(name, ".go") {
			rel, err := filepath.Rel(root, filepath.Dir(path))
			if err != nil {
				return err
			}
			seen[filepath.ToSlash(rel)] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for d := range seen {
		dirs = append(dirs, d)
	}
	slices.Sort(dirs)
	return dirs
}

// TestLayoutTable keeps the README's layout table complete: it names every
// directory of the repository that holds Go files, and no directory that
// does not exist.
func TestLayoutTable(t *testing.T) {
	const root = "../.."
	rows := layoutRows(t)
	dirs := goDirs(t, root)
	if len(dirs) == 0 {
		t.Fatal("no Go files found under the repository's root")
	}
	for _, d := range dirs {
		if _, ok := rows[d]; !ok && d != "." {
			t.Errorf("README.md's layout table does not name %s: add a row saying what it holds", d)
		}
	}
	var named []string
	for p := range rows {
		named = append(named, p)
	}
	slices.Sort(named)
	for _, p := range named {
		fi, err := os.Stat(filepath.Join(root, filepath.FromSlash(p)))
		switch {
		case err != nil:
			t.Errorf("README.md:%d: the layout table names %s, which does not exist: remove or rename the row", rows[p], p)
		case !fi.IsDir():
			t.Errorf("README.md:%d: the layout table names %s, which is not a directory", rows[p], p)
		}
	}
}
