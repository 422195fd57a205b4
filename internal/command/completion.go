package command

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// node is one command of the table as the completion scripts see it: its
// path after the program's name ("token add"), the words that select its
// subcommands and its flags.
type node struct {
	path  string
	subs  []completionWord
	flags []*flag.Flag
}

type completionWord struct{ word, help string }

// nodes lists the table for the completion scripts, root first. Aliases
// that look like flags ("--version") are left out: they are typed, not
// completed.
func (p *Program) nodes() []node {
	var out []node
	p.Walk(func(path []*Command) {
		cmd := path[len(path)-1]
		n := node{path: strings.TrimPrefix(CommandLine(path), p.Root.Name), flags: cmd.FlagList()}
		n.path = strings.TrimSpace(n.path)
		for _, s := range cmd.Sub {
			for _, w := range append([]string{s.Name}, s.Aliases...) {
				if !strings.HasPrefix(w, "-") {
					n.subs = append(n.subs, completionWord{w, s.Short})
				}
			}
		}
		out = append(out, n)
		// An alias selects the same command: the same completions.
		for _, a := range cmd.Aliases {
			if len(path) > 1 && !strings.HasPrefix(a, "-") {
				alias := n
				alias.path = strings.TrimSpace(strings.TrimPrefix(CommandLine(path[:len(path)-1]), p.Root.Name) + " " + a)
				out = append(out, alias)
			}
		}
	})
	return out
}

// paths is every command path but the root's, for the scripts' walk.
func paths(nodes []node) []string {
	var out []string
	for _, n := range nodes {
		if n.path != "" {
			out = append(out, n.path)
		}
	}
	return out
}

func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// funcName is the program's name as a shell function name.
func funcName(prog string) string {
	return "_" + strings.NewReplacer("-", "_", ".", "_").Replace(prog)
}

// Completion writes the completion script of shell ("bash", "zsh" or
// "fish") for the program.
func (p *Program) Completion(w io.Writer, shell string) error {
	switch shell {
	case "bash":
		p.bash(w)
	case "zsh":
		p.zsh(w)
	case "fish":
		p.fish(w)
	default:
		return fmt.Errorf("no completion for shell %q: bash, zsh or fish", shell)
	}
	return nil
}

// shellCase is the case patterns of a list of command paths.
func shellCase(paths []string) string {
	q := make([]string, len(paths))
	for i, p := range paths {
		q[i] = "'" + p + "'"
	}
	return strings.Join(q, "|")
}

func (p *Program) bash(w io.Writer) {
	prog, fn := p.Root.Name, funcName(p.Root.Name)
	nodes := p.nodes()
	fmt.Fprintf(w, "# bash completion for %s. Generated from its command table; do not edit.\n\n", prog)
	fmt.Fprintf(w, "%s() {\n", fn)
	fmt.Fprintf(w, "    local cur prev cmdpath= i w next\n")
	fmt.Fprintf(w, "    cur=\"${COMP_WORDS[COMP_CWORD]}\"\n")
	fmt.Fprintf(w, "    prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n")
	fmt.Fprintf(w, "    for ((i = 1; i < COMP_CWORD; i++)); do\n")
	fmt.Fprintf(w, "        w=\"${COMP_WORDS[i]}\"\n")
	fmt.Fprintf(w, "        [[ $w == -- ]] && return 0\n")
	fmt.Fprintf(w, "        next=\"${cmdpath:+$cmdpath }$w\"\n")
	fmt.Fprintf(w, "        case \"$next\" in\n")
	fmt.Fprintf(w, "            %s) cmdpath=\"$next\" ;;\n", shellCase(paths(nodes)))
	fmt.Fprintf(w, "        esac\n")
	fmt.Fprintf(w, "    done\n")
	fmt.Fprintf(w, "    local words= valueflags=\n")
	fmt.Fprintf(w, "    case \"$cmdpath\" in\n")
	for _, n := range nodes {
		var words, values []string
		for _, s := range n.subs {
			words = append(words, s.word)
		}
		for _, f := range n.flags {
			words = append(words, "--"+f.Name)
			if !isBool(f) {
				values = append(values, "--"+f.Name)
			}
		}
		fmt.Fprintf(w, "        '%s') words='%s'; valueflags='%s' ;;\n", n.path, strings.Join(words, " "), strings.Join(values, " "))
	}
	fmt.Fprintf(w, "    esac\n")
	fmt.Fprintf(w, "    if [[ -n $valueflags && \" $valueflags \" == *\" $prev \"* ]]; then\n")
	fmt.Fprintf(w, "        COMPREPLY=($(compgen -f -- \"$cur\"))\n")
	fmt.Fprintf(w, "        return 0\n")
	fmt.Fprintf(w, "    fi\n")
	fmt.Fprintf(w, "    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n")
	fmt.Fprintf(w, "}\n\n")
	fmt.Fprintf(w, "complete -o default -F %s %s\n", fn, prog)
}

// zshQuote is s in single quotes for zsh.
func zshQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// zshText is text inside a _describe item or an _arguments spec, with the
// characters that separate their fields escaped.
func zshText(s string) string {
	return strings.NewReplacer(`\`, `\\`, `:`, `\:`, `[`, `\[`, `]`, `\]`).Replace(s)
}

func (p *Program) zsh(w io.Writer) {
	prog, fn := p.Root.Name, funcName(p.Root.Name)
	nodes := p.nodes()
	fmt.Fprintf(w, "#compdef %s\n# zsh completion for %s. Generated from its command table; do not edit.\n\n", prog, prog)
	fmt.Fprintf(w, "%s() {\n", fn)
	fmt.Fprintf(w, "    local cmdpath= next w i\n")
	fmt.Fprintf(w, "    local -a cmds flags\n")
	fmt.Fprintf(w, "    for ((i = 2; i < CURRENT; i++)); do\n")
	fmt.Fprintf(w, "        w=${words[i]}\n")
	fmt.Fprintf(w, "        [[ $w == -- ]] && { _normal; return; }\n")
	fmt.Fprintf(w, "        next=\"${cmdpath:+$cmdpath }$w\"\n")
	fmt.Fprintf(w, "        case $next in\n")
	fmt.Fprintf(w, "            (%s) cmdpath=$next ;;\n", shellCase(paths(nodes)))
	fmt.Fprintf(w, "        esac\n")
	fmt.Fprintf(w, "    done\n")
	fmt.Fprintf(w, "    case $cmdpath in\n")
	for _, n := range nodes {
		fmt.Fprintf(w, "        ('%s')\n", n.path)
		var cmds, flags []string
		for _, s := range n.subs {
			cmds = append(cmds, zshQuote(zshText(s.word)+":"+zshText(s.help)))
		}
		for _, f := range n.flags {
			_, help := flagUsage(f)
			spec := "--" + f.Name + "[" + zshText(help) + "]"
			if !isBool(f) {
				name, _ := flagUsage(f)
				spec += ":" + zshText(strings.ToLower(name)) + ":_files"
			}
			flags = append(flags, zshQuote(spec))
		}
		fmt.Fprintf(w, "            cmds=(%s)\n", strings.Join(cmds, " "))
		fmt.Fprintf(w, "            flags=(%s)\n", strings.Join(flags, " "))
		fmt.Fprintf(w, "            ;;\n")
	}
	fmt.Fprintf(w, "    esac\n")
	fmt.Fprintf(w, "    if [[ ${words[CURRENT]} == -* || ${#cmds} -eq 0 ]]; then\n")
	fmt.Fprintf(w, "        _arguments -s : $flags '*:file:_files'\n")
	fmt.Fprintf(w, "    else\n")
	fmt.Fprintf(w, "        _describe -t commands command cmds\n")
	fmt.Fprintf(w, "    fi\n")
	fmt.Fprintf(w, "}\n\n")
	fmt.Fprintf(w, "if [[ $zsh_eval_context[-1] == loadautofunc ]]; then\n")
	fmt.Fprintf(w, "    %s \"$@\"\n", fn)
	fmt.Fprintf(w, "else\n")
	fmt.Fprintf(w, "    compdef %s %s\n", fn, prog)
	fmt.Fprintf(w, "fi\n")
}

// fishQuote is s in single quotes for fish.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func (p *Program) fish(w io.Writer) {
	prog := p.Root.Name
	fn := "_" + funcName(prog) + "_at"
	nodes := p.nodes()
	quoted := make([]string, 0, len(nodes))
	for _, path := range paths(nodes) {
		quoted = append(quoted, fishQuote(path))
	}
	fmt.Fprintf(w, "# fish completion for %s. Generated from its command table; do not edit.\n\n", prog)
	fmt.Fprintf(w, "# %s PATH: the command line so far selects the command PATH (\"token add\").\n", fn)
	fmt.Fprintf(w, "function %s\n", fn)
	fmt.Fprintf(w, "    set -l cmdpath\n")
	fmt.Fprintf(w, "    for w in (commandline -opc)[2..-1]\n")
	fmt.Fprintf(w, "        test \"$w\" = -- ; and return 1\n")
	fmt.Fprintf(w, "        set -l next (string join -- ' ' $cmdpath $w)\n")
	fmt.Fprintf(w, "        if contains -- \"$next\" %s\n", strings.Join(quoted, " "))
	fmt.Fprintf(w, "            set cmdpath $cmdpath $w\n")
	fmt.Fprintf(w, "        end\n")
	fmt.Fprintf(w, "    end\n")
	fmt.Fprintf(w, "    set -l got (string join -- ' ' $cmdpath)\n")
	fmt.Fprintf(w, "    test \"$got\" = \"$argv\"\n")
	fmt.Fprintf(w, "end\n\n")
	fmt.Fprintf(w, "complete -c %s -f\n", prog)
	for _, n := range nodes {
		cond := fishQuote(fn + " " + n.path)
		if n.path == "" {
			cond = fishQuote(fn)
		}
		for _, s := range n.subs {
			fmt.Fprintf(w, "complete -c %s -n %s -a %s -d %s\n", prog, cond, fishQuote(s.word), fishQuote(s.help))
		}
		for _, f := range n.flags {
			_, help := flagUsage(f)
			opt := ""
			if !isBool(f) {
				opt = " -r -F"
			}
			fmt.Fprintf(w, "complete -c %s -n %s -l %s%s -d %s\n", prog, cond, f.Name, opt, fishQuote(help))
		}
	}
}
