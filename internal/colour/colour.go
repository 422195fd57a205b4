// Package colour decides whether the programs' output is coloured, and
// paints it. There is one rule, for every command: colour only when the
// output is a terminal, never when NO_COLOR is set to any non-empty value
// (https://no-color.org), and never on a dumb terminal (TERM=dumb). Nothing
// else in the project writes an ANSI escape.
package colour

import (
	"os"

	"golang.org/x/term"
)

// EnvNoColor turns colour off when set to any non-empty value.
const EnvNoColor = "NO_COLOR"

// Enabled reports whether output to a writer that is (terminal) or is not
// a terminal may be coloured, with getenv reading the environment.
func Enabled(terminal bool, getenv func(string) string) bool {
	return terminal && getenv(EnvNoColor) == "" && getenv("TERM") != "dumb"
}

// IsTerminal reports whether v is an *os.File open on a terminal.
func IsTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// A Painter colours text when it is on and returns it unchanged when off.
// Every painted string, Plain's included, carries the same nine bytes of
// escapes, so that the columns of a text/tabwriter table stay aligned when
// every cell of a column, its header included, is painted (Plain for those
// left uncoloured).
type Painter struct{ on bool }

// New is a Painter that colours when on.
func New(on bool) Painter { return Painter{on: on} }

// On reports whether p colours.
func (p Painter) On() bool { return p.on }

const reset = "\x1b[0m"

func (p Painter) paint(code, s string) string {
	if !p.on {
		return s
	}
	return "\x1b[" + code + "m" + s + reset
}

// Red is for what is broken or past: a failure, an expired token.
func (p Painter) Red(s string) string { return p.paint("31", s) }

// Yellow is for what needs attention soon: a warning.
func (p Painter) Yellow(s string) string { return p.paint("33", s) }

// Green is for what works.
func (p Painter) Green(s string) string { return p.paint("32", s) }

// Plain is s in the terminal's default colour, as wide in bytes as the
// painted strings.
func (p Painter) Plain(s string) string { return p.paint("39", s) }
