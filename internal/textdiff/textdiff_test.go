package textdiff

import "testing"

func TestUnified(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, old, new, want string }{
		{"equal", "a\nb\n", "a\nb\n", ""},
		{"insert", "{\n}\n", "{\n\t\"x\": 1\n}\n", "--- f\n+++ f (new)\n@@ -1,2 +1,3 @@\n {\n+\t\"x\": 1\n }\n"},
		{"replace", "a\nb\nc\n", "a\nB\nc\n", "--- f\n+++ f (new)\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"},
		{"from empty", "", "x\n", "--- f\n+++ f (new)\n@@ -1,0 +1,1 @@\n+x\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Unified("f", tt.old, tt.new); got != tt.want {
				t.Errorf("Unified() =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}
