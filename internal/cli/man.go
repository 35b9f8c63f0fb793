package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"github.com/vigie/vigie/internal/buildinfo"
)

// The manual page and the shell completions are generated from the command
// tree and each command's own --help, so they cannot drift from it.

func manCommand() *command {
	return &command{name: "man", summary: "print the manual page (roff), generated from every command's --help", run: printMan}
}

func completionCommand() *command {
	return &command{name: "completion", summary: "print the bash or zsh completion script", run: printCompletion}
}

// leaf is one runnable command with its help text.
type leaf struct {
	path  string // "vigie dns check"
	c     *command
	help  string
	flags []string // --config, --json, ...
}

var flagLine = regexp.MustCompile(`(?m)^  -([A-Za-z0-9][A-Za-z0-9-]*)`)

// helpOf runs path --help and returns what it printed.
func helpOf(ctx context.Context, env *Env, path string, c *command) string {
	var out bytes.Buffer
	e := Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: io.Discard, Getenv: env.Getenv}
	dispatch(ctx, &e, path, c, []string{"--help"})
	return out.String()
}

// walk visits the tree in name order: groups and leaves, with their paths.
func walk(path string, c *command, visit func(path string, c *command)) {
	visit(path, c)
	subs := append([]*command(nil), c.sub...)
	sort.Slice(subs, func(i, j int) bool { return subs[i].name < subs[j].name })
	for _, s := range subs {
		walk(path+" "+s.name, s, visit)
	}
}

func leaves(ctx context.Context, env *Env, root *command) []leaf {
	var out []leaf
	walk("vigie", root, func(path string, c *command) {
		if c.run == nil {
			return
		}
		h := helpOf(ctx, env, path, c)
		l := leaf{path: path, c: c, help: h}
		for _, m := range flagLine.FindAllStringSubmatch(h, -1) {
			l.flags = append(l.flags, "--"+m[1])
		}
		out = append(out, l)
	})
	return out
}

func rootCommand() *command {
	return &command{name: "vigie", summary: "watches a hoster's mail, DNS, certificates, web apps and blocklists", sub: commands()}
}

// roff escapes text for a man page: backslashes, leading dots and quotes,
// and hyphens (so they stay hyphens, not typographic dashes).
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, ".") || strings.HasPrefix(line, "'") {
			b.WriteString(`\&`)
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func printMan(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "vigie man", "", `
Prints vigie's manual page in roff, generated from the command tree and
every command's --help (the Debian package installs it as vigie(8)):
  vigie man | man -l -`)
	if code, ok := f.parse(args); !ok {
		return code
	}
	if f.NArg() != 0 {
		return f.usageError("takes no arguments")
	}
	root := rootCommand()
	w := env.Stdout
	fmt.Fprintf(w, ".TH VIGIE 8 \"\" \"vigie %s\" \"System Administration\"\n", roff(buildinfo.Version()))
	fmt.Fprintf(w, ".SH NAME\nvigie \\- %s\n", roff(root.summary))
	fmt.Fprint(w, `.SH SYNOPSIS
.B vigie
[\fB\-\-data\fR \fIDIR\fR] \fICOMMAND\fR [\fIflags\fR] [\fIargs\fR]
.br
.B vigie \-\-version
.br
.B vigie doctor
[\fB\-\-json\fR]
.SH DESCRIPTION
vigie is the lookout a small hoster, an association running its own mail
server, or a domain registrar runs beside its services. It watches the
Postfix log and queue, the delegations of domains at the parent servers,
Certificate Transparency, the web applications on disk and DNS blocklists,
and turns what it sees into alerts and incidents within about a minute.
.PP
The daemon is
.BR "vigie run" ,
started by the systemd unit
.IR vigie.service .
.B vigie doctor
says what vigie would watch on this machine and why not the rest.
Every command takes
.BR \-\-help ;
what follows is that help, command by command.
.SH COMMANDS
`)
	fmt.Fprintf(w, ".SS vigie\n.nf\n%s\n.fi\n", roff(strings.TrimRight(helpOf(ctx, env, "vigie", root), "\n")))
	for _, l := range leaves(ctx, env, root) {
		fmt.Fprintf(w, ".SS %s\n.nf\n%s\n.fi\n", roff(l.path), roff(strings.TrimRight(l.help, "\n")))
	}
	fmt.Fprint(w, `.SH FILES
.TP
.I /etc/vigie/vigie.yaml
The configuration
.RB ( "vigie config example"
prints every key with its default;
.B vigie config check
checks it).
.TP
.I /var/lib/vigie
The data directory of the systemd unit: the SQLite store
.IR vigie.db .
.TP
.I /usr/share/vigie/prometheus/vigie.rules.yml
Prometheus alerting rules.
.TP
.I /usr/share/vigie/grafana/vigie.json
A Grafana dashboard.
.SH ENVIRONMENT
.TP
.B VIGIE_CONFIG
The configuration file when \fB\-\-config\fR is not given.
.TP
.B VIGIE_DATA
The data directory when \fB\-\-data\fR is not given.
.TP
.BR NOTIFY_SOCKET ", " WATCHDOG_USEC
Set by systemd: vigie run tells it when it is ready and pets the watchdog.
.SH EXIT STATUS
0 success, 1 failure (or, for checks, something found), 2 bad usage or a
bad configuration (nothing started).
.SH SEE ALSO
.BR postfix (1),
.BR postconf (1),
.BR systemctl (1),
.BR journalctl (1),
.BR prometheus (1)
`)
	return exitOK
}

func printCompletion(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "vigie completion", "bash|zsh", `
Prints the completion script for bash or zsh, generated from the command
tree and every command's flags. The Debian package installs both; by hand:
  vigie completion bash > /etc/bash_completion.d/vigie
  vigie completion zsh > "${fpath[1]}/_vigie"`)
	if code, ok := f.parse(args); !ok {
		return code
	}
	if f.NArg() != 1 || f.Arg(0) != "bash" && f.Arg(0) != "zsh" {
		return f.usageError("expected bash or zsh")
	}
	root := rootCommand()
	type node struct {
		path     string // "" for the root, "config", "config check"
		children []*command
		flags    []string
	}
	var nodes []node
	ls := map[string][]string{}
	for _, l := range leaves(ctx, env, root) {
		ls[l.path] = l.flags
	}
	walk("vigie", root, func(path string, c *command) {
		p := strings.TrimPrefix(strings.TrimPrefix(path, "vigie"), " ")
		n := node{path: p}
		if c.run != nil {
			n.flags = ls[path]
		} else {
			n.children = append(n.children, c.sub...)
			sort.Slice(n.children, func(i, j int) bool { return n.children[i].name < n.children[j].name })
			n.flags = []string{"--help"}
			if p == "" {
				n.flags = []string{"--data", "--help", "--version"}
			}
		}
		nodes = append(nodes, n)
	})
	w := env.Stdout
	if f.Arg(0) == "bash" {
		fmt.Fprint(w, "# bash completion for vigie, generated by 'vigie completion bash'.\n_vigie() {\n"+
			"    local cur=${COMP_WORDS[COMP_CWORD]} node=\"\" w i\n"+
			"    for ((i = 1; i < COMP_CWORD; i++)); do\n        w=${COMP_WORDS[i]}\n        case \"$node:$w\" in\n")
		for _, n := range nodes {
			for _, c := range n.children {
				fmt.Fprintf(w, "        %q) node=%q ;;\n", n.path+":"+c.name, strings.TrimSpace(n.path+" "+c.name))
			}
		}
		fmt.Fprint(w, "        esac\n    done\n    case \"$node\" in\n")
		for _, n := range nodes {
			var words []string
			for _, c := range n.children {
				words = append(words, c.name)
			}
			if len(n.children) > 0 {
				fmt.Fprintf(w, "    %q) COMPREPLY=($(compgen -W %q -- \"$cur\")) ;;\n", n.path, strings.Join(append(words, n.flags...), " "))
			} else {
				fmt.Fprintf(w, "    %q) [[ $cur == -* ]] && COMPREPLY=($(compgen -W %q -- \"$cur\")) ;;\n", n.path, strings.Join(n.flags, " "))
			}
		}
		fmt.Fprint(w, "    esac\n}\ncomplete -o default -F _vigie vigie\n")
		return exitOK
	}
	fmt.Fprint(w, "#compdef vigie\n# zsh completion for vigie, generated by 'vigie completion zsh'.\n_vigie() {\n"+
		"    local node=\"\" w\n    for w in ${words[2,CURRENT-1]}; do\n        case \"$node:$w\" in\n")
	for _, n := range nodes {
		for _, c := range n.children {
			fmt.Fprintf(w, "        %s) node=%s ;;\n", zshQuote(n.path+":"+c.name), zshQuote(strings.TrimSpace(n.path+" "+c.name)))
		}
	}
	fmt.Fprint(w, "        esac\n    done\n    local -a cmds\n    case \"$node\" in\n")
	for _, n := range nodes {
		if len(n.children) > 0 {
			var items []string
			for _, c := range n.children {
				items = append(items, zshQuote(c.name+":"+strings.ReplaceAll(c.summary, ":", `\:`)))
			}
			fmt.Fprintf(w, "    %s)\n        cmds=(%s)\n        if [[ $PREFIX == -* ]]; then compadd -- %s; else _describe command cmds; fi ;;\n",
				zshQuote(n.path), strings.Join(items, " "), strings.Join(n.flags, " "))
		} else {
			fmt.Fprintf(w, "    %s)\n        if [[ $PREFIX == -* ]]; then compadd -- %s; else _files; fi ;;\n", zshQuote(n.path), strings.Join(n.flags, " "))
		}
	}
	fmt.Fprint(w, "    esac\n}\n_vigie \"$@\"\n")
	return exitOK
}

// zshQuote single-quotes s for zsh.
func zshQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
