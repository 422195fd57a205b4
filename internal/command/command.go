// Package command is the command table of a binary, in the spirit of
// cmd/go's base.Command: every command declares its usage, its text and
// its flags (each with a help string) once, and help, man pages and shell
// completions are made from that table, so that they cannot drift from
// what the binary accepts. Flags are parsed the same way everywhere (before
// or after the arguments), -h and --help print a command's help and exit 0,
// usage errors exit 2 and failures 1, reported in one place as
// "PROGRAM: error: …" and "PROGRAM: hint: …".
package command

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Command is one command of a program.
type Command struct {
	// Name is the word that selects the command.
	Name string
	// Aliases are other words for it ("list" for "ls").
	Aliases []string
	// Args names the arguments after the flags, for the usage line:
	// "LABEL", "FILE|-", "-- CMD [ARG...]".
	Args string
	// Short is one line for the parent's list of commands.
	Short string
	// Long is the command's own help text, paragraphs of plain text.
	Long string
	// Flags declares the command's flags on fs and returns what runs the
	// command with the arguments that are not flags. Nil for a command
	// that only groups subcommands.
	Flags func(fs *flag.FlagSet) Runner
	// Raw commands get their arguments as they are, unparsed (the
	// credential-helper verbs, whose input is on stdin).
	Raw bool
	// FlagsFirst commands take flags before their first argument only:
	// what follows belongs to a command they run ("run -- crane push -v").
	FlagsFirst bool
	// Sub are the subcommands.
	Sub []*Command
}

// Runner runs a command with its arguments.
type Runner func(args []string) error

// Program is a binary's table and surroundings.
type Program struct {
	// Root is the binary itself: its Name is the program's, Short and Long
	// say what it is, Sub lists its commands.
	Root *Command
	// Env lists the environment variables the program reads, for the
	// help and the man page.
	Env []EnvVar
	// Examples are command lines shown at the end of the help.
	Examples []string
	// Stdout receives help asked for; Stderr errors and usage errors.
	Stdout, Stderr io.Writer
	// Explain words an error for a person and says what to do about it
	// (the error's own text and no hint if nil).
	Explain func(error) (msg, hint string)
}

// EnvVar is an environment variable a program reads.
type EnvVar struct {
	// Name is the variable's name, exactly as it is read.
	Name string
	// Value, for a switch, is the value that turns it on ("1"): the help
	// shows NAME=Value, and On tells whether it is set so.
	Value string
	// Help says what the variable does.
	Help string
}

// Debug is OAT_DEBUG=1, which turns on a program's diagnostics (never
// secrets). Each program's table lists it with the help that says what it
// does there (WithHelp).
var Debug = EnvVar{Name: "OAT_DEBUG", Value: "1"}

// On reports whether the environment getenv reads sets the switch v to its
// Value.
func (v EnvVar) On(getenv func(string) string) bool {
	return v.Value != "" && getenv(v.Name) == v.Value
}

// WithHelp is v with help as its text.
func (v EnvVar) WithHelp(help string) EnvVar {
	v.Help = help
	return v
}

// Synopsis is how the help and the man page name v: NAME, or NAME=Value
// for a switch.
func (v EnvVar) Synopsis() string {
	if v.Value != "" {
		return v.Name + "=" + v.Value
	}
	return v.Name
}

// Reads reports whether the table lists the variable name.
func (p *Program) Reads(name string) bool {
	return slices.ContainsFunc(p.Env, func(v EnvVar) bool { return v.Name == name })
}

// usageError is a command called the wrong way: exit status 2.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

// Usage marks err as a usage error: exit status 2, with a pointer to the
// command's help.
func Usage(err error) error { return usageError{err} }

// Usagef is Usage of a formatted error.
func Usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// ExitCode ends a command with a status, having reported what there was to
// report itself (doctor's findings, the protocol's answer).
type ExitCode int

func (e ExitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// hinted is an error with what to do about it.
type hinted struct {
	error
	hint string
}

func (h hinted) Unwrap() error { return h.error }

// WithHint attaches a hint to err, printed after it.
func WithHint(err error, hint string) error {
	if err == nil {
		return nil
	}
	return hinted{err, hint}
}

// NoArgs refuses arguments, for commands that take none.
func NoArgs(args []string) error {
	if len(args) > 0 {
		return Usagef("unexpected argument %q", args[0])
	}
	return nil
}

// Run runs the command args select and returns the exit status.
func (p *Program) Run(args []string) int {
	path, cmd, args, err := p.find(args)
	if err != nil {
		return p.report(path, err)
	}
	if cmd.Flags == nil { // a group: its help
		if len(args) > 0 && isHelp(args[0]) {
			p.Help(p.Stdout, path)
			return 0
		}
		if len(args) == 0 {
			p.Help(p.Stderr, path)
			return 2
		}
		return p.report(path, Usagef("unknown command %q", args[0]))
	}
	fs := p.flagSet(path)
	run := cmd.Flags(fs)
	if cmd.Raw {
		if len(args) == 1 && isHelp(args[0]) {
			p.Help(p.Stdout, path)
			return 0
		}
		return p.report(path, run(args))
	}
	var rest []string
	if cmd.FlagsFirst {
		err = fs.Parse(args)
		rest = fs.Args()
	} else {
		rest, err = Parse(fs, args)
	}
	if errors.Is(err, flag.ErrHelp) {
		p.Help(p.Stdout, path)
		return 0
	}
	if err != nil {
		return p.report(path, Usage(err))
	}
	return p.report(path, run(rest))
}

func isHelp(s string) bool { return s == "-h" || s == "--help" || s == "-help" || s == "help" }

// find walks args down the table: the commands chosen, the last one, and
// the arguments left.
func (p *Program) find(args []string) ([]*Command, *Command, []string, error) {
	path := []*Command{p.Root}
	cmd := p.Root
	for len(cmd.Sub) > 0 && len(args) > 0 {
		next := cmd.lookup(args[0])
		switch {
		case next != nil:
		case strings.HasPrefix(args[0], "-") || (cmd.Flags == nil && args[0] == "help"):
			return path, cmd, args, nil
		default:
			return path, nil, nil, Usagef("unknown command %q", args[0])
		}
		cmd, args = next, args[1:]
		path = append(path, cmd)
	}
	return path, cmd, args, nil
}

func (c *Command) lookup(name string) *Command {
	for _, s := range c.Sub {
		if s.Name == name || slices.Contains(s.Aliases, name) {
			return s
		}
	}
	return nil
}

// flagSet is a flag set that reports its errors to Run only.
func (p *Program) flagSet(path []*Command) *flag.FlagSet {
	fs := flag.NewFlagSet(CommandLine(path), flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// Parse parses flags wherever they stand among the arguments, as people
// type them ("token show ci --json"), and returns the others. Everything
// after "--" is an argument.
func Parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var after []string
	if i := slices.Index(args, "--"); i >= 0 {
		args, after = args[:i], args[i+1:]
	}
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return append(rest, after...), nil
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// report prints err, if any, and returns the exit status it means.
func (p *Program) report(path []*Command, err error) int {
	if err == nil {
		return 0
	}
	var code ExitCode
	if errors.As(err, &code) {
		return int(code)
	}
	var usage usageError
	if errors.As(err, &usage) {
		fmt.Fprintf(p.Stderr, "%s: error: %s\n", p.Root.Name, usage.err)
		fmt.Fprintf(p.Stderr, "%s: hint: run '%s --help' for the usage\n", p.Root.Name, CommandLine(path))
		return 2
	}
	msg, hint := err.Error(), ""
	if p.Explain != nil {
		msg, hint = p.Explain(err)
	}
	var h hinted
	if errors.As(err, &h) {
		hint = h.hint
	}
	fmt.Fprintf(p.Stderr, "%s: error: %s\n", p.Root.Name, msg)
	if hint != "" {
		fmt.Fprintf(p.Stderr, "%s: hint: %s\n", p.Root.Name, hint)
	}
	return 1
}

// CommandLine is "program sub sub".
func CommandLine(path []*Command) string {
	words := make([]string, len(path))
	for i, c := range path {
		words[i] = c.Name
	}
	return strings.Join(words, " ")
}

// Walk calls fn for every command of the table, with its path from the
// root.
func (p *Program) Walk(fn func(path []*Command)) {
	var walk func(path []*Command)
	walk = func(path []*Command) {
		fn(path)
		for _, s := range path[len(path)-1].Sub {
			walk(append(slices.Clone(path), s))
		}
	}
	walk([]*Command{p.Root})
}

// FlagList returns the flags a command declares, sorted by name.
func (c *Command) FlagList() []*flag.Flag {
	if c.Flags == nil {
		return nil
	}
	fs := flag.NewFlagSet(c.Name, flag.ContinueOnError)
	c.Flags(fs)
	var out []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) { out = append(out, f) })
	return out
}
