package command

import (
	"encoding/json"
	"fmt"
	"io"
)

// Progress says what a long command is doing: one line a step, on the
// writer it was given (stderr), as "PROGRAM: MESSAGE". No spinner and no
// carriage return, so it reads the same on a terminal, in a CI log and in
// a file; stdout stays the command's answer (its --json included).
type Progress struct {
	w       io.Writer
	program string
}

// NewProgress reports to w as program; a nil w reports nothing.
func NewProgress(w io.Writer, program string) *Progress {
	if w == nil {
		w = io.Discard
	}
	return &Progress{w: w, program: program}
}

// Step reports one step.
func (p *Progress) Step(format string, args ...any) {
	fmt.Fprintf(p.w, "%s: %s\n", p.program, fmt.Sprintf(format, args...))
}

// PrintJSON writes v to w as the --json answer of a command: indented, one
// value, a newline at the end.
func PrintJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
