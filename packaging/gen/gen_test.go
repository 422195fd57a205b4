package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCommittedFilesAreFresh fails when a command, flag or text of either
// table changed and the man pages or completions were not regenerated.
func TestCommittedFilesAreFresh(t *testing.T) {
	files, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join("..", name))
		if err != nil {
			t.Errorf("%s: %v (run: make generate)", name, err)
			continue
		}
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("packaging/%s is stale; run: make generate\n-want +got:\n%s", name, diff)
		}
	}
	for _, dir := range []string{"man", "completions/bash", "completions/zsh", "completions/fish"} {
		entries, err := os.ReadDir(filepath.Join("..", dir))
		if err != nil {
			continue
		}
		for _, e := range entries {
			if _, ok := files[filepath.Join(dir, e.Name())]; !ok {
				t.Errorf("packaging/%s/%s is not generated any more: remove it", dir, e.Name())
			}
		}
	}
}
