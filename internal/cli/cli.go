// Package cli is vigie's command line: it parses arguments, runs one
// command and returns the exit status. main only adds the signals.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Exit statuses.
const (
	exitOK    = 0
	exitFail  = 1 // the command ran and failed (or found something, for checks)
	exitUsage = 2 // bad arguments or a bad config: nothing was started
)

// Env is the outside world a command sees.
type Env struct {
	Args   []string // without the program name
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// Reload receives a value for each SIGHUP.
	Reload <-chan struct{}

	data string // the global --data flag
}

// A command is a leaf ("run") or a group ("config") of the command tree.
type command struct {
	name    string
	summary string
	sub     []*command
	// run parses its own flags (with newFlags) and does the work.
	run func(ctx context.Context, env *Env, args []string) int
}

// commands is the command tree. Each watch adds its group here.
func commands() []*command {
	return []*command{runCommand(), configCommand(), versionCommand(), incidentCommand(), notifyCommand(),
		userCommand(), demoCommand(),
		blocklistCommand(),
		ctCommand(),
		webCommand(),
		mailCommand(),
		postfixConfigCommand(),
		storeCommand(),
		dnsCommand(),
		replayCommand(),
		doctorCommand(),
		manCommand(),
		completionCommand(),
	}
}

// Main runs the command named by env.Args and returns the exit status.
func Main(ctx context.Context, env Env) int {
	root := rootCommand()
	fs := flag.NewFlagSet("vigie", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&env.data, "data", "", "")
	showVersion := fs.Bool("version", false, "")
	if err := fs.Parse(env.Args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			groupUsage(env.Stdout, "vigie", root)
			return exitOK
		}
		fmt.Fprintf(env.Stderr, "vigie: %v\n", err)
		groupUsage(env.Stderr, "vigie", root)
		return exitUsage
	}
	if *showVersion {
		// vigie --version, as every other daemon answers it.
		return dispatch(ctx, &env, "vigie", root, append([]string{"version"}, fs.Args()...))
	}
	return dispatch(ctx, &env, "vigie", root, fs.Args())
}

func dispatch(ctx context.Context, env *Env, path string, c *command, args []string) int {
	if c.run != nil {
		return c.run(ctx, env, args)
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		w := env.Stdout
		if len(args) == 0 {
			w = env.Stderr
		}
		groupUsage(w, path, c)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, s := range c.sub {
		if s.name == args[0] {
			return dispatch(ctx, env, path+" "+s.name, s, args[1:])
		}
	}
	fmt.Fprintf(env.Stderr, "%s: unknown command %q\n", path, args[0])
	groupUsage(env.Stderr, path, c)
	return exitUsage
}

func groupUsage(w io.Writer, path string, c *command) {
	fmt.Fprintf(w, "%s: %s\n\nUsage:\n  %s [--data DIR] COMMAND [flags] [args]\n\nCommands:\n", path, c.summary, path)
	subs := append([]*command(nil), c.sub...)
	sort.Slice(subs, func(i, j int) bool { return subs[i].name < subs[j].name })
	for _, s := range subs {
		fmt.Fprintf(w, "  %-14s %s\n", s.name, s.summary)
	}
	fmt.Fprintf(w, "\nGlobal flags:\n  --version      print the version (as 'vigie version')\n  --data DIR     data directory (default: $VIGIE_DATA, else data_dir in the config,\n"+
		"                 else $XDG_STATE_HOME/vigie, else ~/.local/state/vigie)\n\n"+
		"Run '%s COMMAND --help' for a command's flags.\n", path)
}

// flags is a command's flag set: its own flags plus the global --data.
type flags struct {
	*flag.FlagSet
	env   *Env
	usage string
	help  string
}

// newFlags starts the flag set of command path; usage is its argument
// synopsis, help a paragraph about it.
func newFlags(env *Env, path, usage, help string) *flags {
	fs := flag.NewFlagSet(path, flag.ContinueOnError)
	f := &flags{FlagSet: fs, env: env, usage: usage, help: help}
	fs.StringVar(&env.data, "data", env.data, "data directory (see 'vigie --help')")
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return f
}

// configFlag adds --config FILE; loadConfig reads it (or $VIGIE_CONFIG,
// or the embedded defaults).
func (f *flags) configFlag() *string {
	return f.String("config", "", "configuration file (default: $VIGIE_CONFIG, else the embedded defaults)")
}

// parse parses args; ok is false when the command must return code.
func (f *flags) parse(args []string) (code int, ok bool) {
	if err := f.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			f.printUsage(f.env.Stdout)
			return exitOK, false
		}
		fmt.Fprintf(f.env.Stderr, "%s: %v\n", f.Name(), err)
		f.printUsage(f.env.Stderr)
		return exitUsage, false
	}
	return 0, true
}

func (f *flags) printUsage(w io.Writer) {
	fmt.Fprintf(w, "Usage: %s %s\n\n%s\n", f.Name(), f.usage, strings.TrimSpace(f.help))
	var b strings.Builder
	f.SetOutput(&b)
	f.PrintDefaults()
	f.SetOutput(io.Discard)
	if b.Len() > 0 {
		fmt.Fprintf(w, "\nFlags:\n%s", b.String())
	}
}

// usageError reports a wrong use of a command.
func (f *flags) usageError(format string, args ...any) int {
	fmt.Fprintf(f.env.Stderr, "%s: %s\n", f.Name(), fmt.Sprintf(format, args...))
	f.printUsage(f.env.Stderr)
	return exitUsage
}
