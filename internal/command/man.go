package command

import (
	"fmt"
	"io"
	"strings"
)

// Man writes the program's manual page, section 1, in roff (man(7)
// macros): the root's text, every command of the table with its usage,
// text and flags, the environment and the examples. Nothing in it depends
// on the time or the machine, so a committed page can be checked against
// the table.
func (p *Program) Man(w io.Writer, source string) {
	root := p.Root
	fmt.Fprintf(w, ".TH %s 1 \"\" %s \"User Commands\"\n", strings.ToUpper(roffEscape(root.Name)), roffQuote(source))
	fmt.Fprintf(w, ".nh\n.ad l\n") // no hyphenation, ragged right: flag names stay whole
	fmt.Fprintf(w, ".SH NAME\n%s \\- %s\n", roffEscape(root.Name), roffEscape(strings.TrimSuffix(root.Short, ".")))
	fmt.Fprintf(w, ".SH SYNOPSIS\n.B %s\n%s\n", roffEscape(root.Name), roffEscape(strings.TrimPrefix(UsageLine([]*Command{root}), root.Name+" ")))
	fmt.Fprintf(w, ".SH DESCRIPTION\n")
	if root.Short != "" {
		fmt.Fprintf(w, "%s\n", roffText(root.Short))
	}
	if root.Long != "" {
		fmt.Fprintf(w, ".PP\n%s\n", roffText(root.Long))
	}
	if flags := root.FlagList(); len(flags) > 0 {
		fmt.Fprintf(w, ".SH OPTIONS\n")
		manFlags(w, root)
	}
	if len(root.Sub) > 0 {
		fmt.Fprintf(w, ".SH COMMANDS\n")
	}
	p.Walk(func(path []*Command) {
		if len(path) == 1 {
			return
		}
		cmd := path[len(path)-1]
		fmt.Fprintf(w, ".SS %s\n", roffQuote(strings.TrimPrefix(UsageLine(path), root.Name+" ")))
		if len(cmd.Aliases) > 0 {
			fmt.Fprintf(w, "Also: %s.\n.br\n", roffEscape(strings.Join(cmd.Aliases, ", ")))
		}
		text := cmd.Long
		if text == "" {
			text = cmd.Short
		}
		fmt.Fprintf(w, "%s\n", roffText(text))
		manFlags(w, cmd)
	})
	if len(p.Env) > 0 {
		fmt.Fprintf(w, ".SH ENVIRONMENT\n")
		for _, e := range p.Env {
			fmt.Fprintf(w, ".TP\n.B %s\n%s\n", roffEscape(e.Synopsis()), roffEscape(e.Help))
		}
	}
	fmt.Fprintf(w, ".SH EXIT STATUS\n0 on success, 1 on failure, 2 for a command called the wrong way (a usage error).\n")
	if len(p.Examples) > 0 {
		fmt.Fprintf(w, ".SH EXAMPLES\n")
		for _, e := range p.Examples {
			fmt.Fprintf(w, ".PP\n.nf\n%s\n.fi\n", roffEscape(e))
		}
	}
}

func manFlags(w io.Writer, cmd *Command) {
	for _, f := range cmd.FlagList() {
		syn := FlagSynopsis(f)
		name, value, _ := strings.Cut(syn, " ")
		fmt.Fprintf(w, ".TP\n")
		if value != "" {
			fmt.Fprintf(w, ".BI %s \" %s\"\n", roffEscape(name), roffEscape(value))
		} else {
			fmt.Fprintf(w, ".B %s\n", roffEscape(name))
		}
		fmt.Fprintf(w, "%s\n", roffEscape(FlagHelp(f)))
	}
}

// roffText is paragraphs of plain text as roff: lines kept, a blank line
// a new paragraph, indented lines shown as they are.
func roffText(s string) string {
	var b strings.Builder
	verbatim := false
	for line := range strings.SplitSeq(strings.TrimRight(s, "\n"), "\n") {
		indented := strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")
		switch {
		case strings.TrimSpace(line) == "":
			if verbatim {
				b.WriteString(".fi\n")
				verbatim = false
			}
			b.WriteString(".PP\n")
			continue
		case indented && !verbatim:
			b.WriteString(".nf\n")
			verbatim = true
		case !indented && verbatim:
			b.WriteString(".fi\n")
			verbatim = false
		}
		b.WriteString(roffEscape(line))
		b.WriteString("\n")
	}
	if verbatim {
		b.WriteString(".fi\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// roffEscape makes a line of text safe to put in a roff document: a
// backslash is \e, a minus sign \-, and a line starting with a control
// character is guarded by \&; other than ASCII is \[uXXXX].
func roffEscape(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	var b strings.Builder
	for _, r := range s {
		if r < 0x80 {
			b.WriteRune(r)
			continue
		}
		fmt.Fprintf(&b, `\[u%04X]`, r) // groff reads ASCII without preconv
	}
	return b.String()
}

// roffQuote is one macro argument, in double quotes.
func roffQuote(s string) string {
	return `"` + strings.ReplaceAll(roffEscape(s), `"`, `\(dq`) + `"`
}
