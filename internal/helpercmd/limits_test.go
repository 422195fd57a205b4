package helpercmd

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oatkit/oat/internal/oat"
)

// TestInputLimits: what is read is bounded where it is checked, and the
// refusal names the bound that was applied, one byte past it and not at it.
func TestInputLimits(t *testing.T) {
	t.Parallel()
	secret := func(n int) string { return "dckr_oat_" + strings.Repeat("a", n-len("dckr_oat_")) }
	list := `{"results":[]}`
	apiJSON := func(n int) string { return list + strings.Repeat(" ", n-len(list)) }
	add := []string{"token", "add", "--org", "acme", "--label", "ci", "--pull", "acme/app"}
	importStdin := []string{"token", "import", "-"}
	for _, tc := range []struct {
		name, stdin string
		args        []string
		refusal     string
		refused     bool
	}{
		{"secret at the bound", secret(maxSecret), add, fmt.Sprintf("longer than %d bytes", maxSecret), false},
		{"secret past the bound", secret(maxSecret + 1), add, fmt.Sprintf("longer than %d bytes", maxSecret), true},
		{"import at the bound", apiJSON(oat.MaxImportSize), importStdin, fmt.Sprintf("larger than %d MiB", oat.MaxImportSize>>20), false},
		{"import past the bound", apiJSON(oat.MaxImportSize + 1), importStdin, fmt.Sprintf("larger than %d MiB", oat.MaxImportSize>>20), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, errOut, code := run(t, filepath.Join(t.TempDir(), "oat"), nil, tc.stdin, tc.args...)
			if got := strings.Contains(errOut, tc.refusal); got != tc.refused || (tc.refused && code != 1) {
				t.Errorf("exit %d, stderr %q; want the refusal %q: %v", code, errOut, tc.refusal, tc.refused)
			}
		})
	}
}
