package command

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Help writes the help of the command at the end of path.
func (p *Program) Help(w io.Writer, path []*Command) {
	cmd := path[len(path)-1]
	fmt.Fprintf(w, "Usage: %s\n", UsageLine(path))
	if len(path) == 1 && cmd.Short != "" {
		fmt.Fprintf(w, "\n%s\n", cmd.Short)
	}
	if cmd.Long != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimRight(cmd.Long, "\n"))
	}
	if flags := cmd.FlagList(); len(flags) > 0 {
		fmt.Fprintf(w, "\nFlags:\n")
		tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
		for _, f := range flags {
			fmt.Fprintf(tw, "  %s\t%s\n", FlagSynopsis(f), FlagHelp(f))
		}
		_ = tw.Flush()
	}
	if len(cmd.Sub) > 0 {
		fmt.Fprintf(w, "\nCommands:\n")
		tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
		for _, s := range cmd.Sub {
			fmt.Fprintf(tw, "  %s\t%s\n", strings.Join(append([]string{s.Name}, s.Aliases...), ", "), s.Short)
		}
		_ = tw.Flush()
	}
	if len(path) == 1 {
		if len(p.Env) > 0 {
			fmt.Fprintf(w, "\nEnvironment:\n")
			tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
			for _, e := range p.Env {
				fmt.Fprintf(tw, "  %s\t%s\n", e.Synopsis(), e.Help)
			}
			_ = tw.Flush()
		}
		if len(p.Examples) > 0 {
			fmt.Fprintf(w, "\nExamples:\n")
			for _, e := range p.Examples {
				fmt.Fprintf(w, "  %s\n", e)
			}
		}
	}
	if len(cmd.Sub) > 0 {
		fmt.Fprintf(w, "\nRun '%s COMMAND --help' for a command's flags.\n", CommandLine(path))
	}
}

// UsageLine is the command's synopsis: "prog token add [flags]".
func UsageLine(path []*Command) string {
	cmd := path[len(path)-1]
	line := CommandLine(path)
	switch {
	case len(cmd.Sub) > 0 && cmd.Flags == nil:
		line += " COMMAND [arguments]"
	case len(cmd.FlagList()) > 0:
		line += " [flags]"
	}
	if cmd.Args != "" {
		line += " " + cmd.Args
	}
	return line
}

// FlagSynopsis is "--name VALUE", or "--name" for a boolean flag. VALUE is
// the back-quoted word of the flag's help, as flag.UnquoteUsage reads it.
func FlagSynopsis(f *flag.Flag) string {
	name, _ := flagUsage(f)
	if name == "" {
		return "--" + f.Name
	}
	return "--" + f.Name + " " + strings.ToUpper(name)
}

// FlagHelp is the flag's help without its quotes, and its default when it
// has one worth saying.
func FlagHelp(f *flag.Flag) string {
	_, help := flagUsage(f)
	if d := f.DefValue; d != "" && d != "false" && d != "0" && d != "[]" && d != "map[]" {
		help += " (default " + d + ")"
	}
	return help
}

// flagUsage is flag.UnquoteUsage, with no value name for a boolean flag.
func flagUsage(f *flag.Flag) (name, help string) {
	name, help = flag.UnquoteUsage(f)
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		name = ""
	}
	return name, help
}
