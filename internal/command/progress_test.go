package command

import (
	"bytes"
	"testing"
)

func TestProgress(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	p := NewProgress(&b, "oat-proxy")
	p.Step("step %d of %d: %s", 1, 2, "install the CA")
	p.Step("done")
	if got, want := b.String(), "oat-proxy: step 1 of 2: install the CA\noat-proxy: done\n"; got != want {
		t.Errorf("progress = %q, want %q", got, want)
	}
	NewProgress(nil, "x").Step("to nowhere") // must not panic
}
