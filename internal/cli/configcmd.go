package cli

import (
	"context"
	"fmt"

	"github.com/vigie/vigie/internal/config"
)

func configCommand() *command {
	return &command{name: "config", summary: "check a configuration file or print an example", sub: []*command{
		{name: "check", summary: "check a configuration file", run: configCheck},
		{name: "example", summary: "print a complete, commented example configuration", run: configExample},
	}}
}

func configCheck(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "vigie config check", "FILE", `
Checks FILE as vigie would read it: unknown keys, wrong types and values
are reported as FILE:LINE: KEY: what was expected; keys that still work but
should change (deprecated ones) as FILE:LINE: KEY: warning. Exit status 0
when the file is good (warnings included), 2 when it is not.`)
	if code, ok := f.parse(args); !ok {
		return code
	}
	if f.NArg() != 1 {
		return f.usageError("expected one FILE, got %d arguments", f.NArg())
	}
	cfg, err := config.Load(f.Arg(0))
	if err != nil {
		fmt.Fprintln(env.Stderr, err)
		return exitUsage
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintf(env.Stderr, "warning: %s\n", w)
	}
	fmt.Fprintf(env.Stdout, "%s: ok\n", f.Arg(0))
	return exitOK
}

func configExample(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "vigie config example", "", `
Prints a complete configuration with every key at its default and a
comment saying what it does. Save it, change what you need, and check it
with 'vigie config check'.`)
	if code, ok := f.parse(args); !ok {
		return code
	}
	if f.NArg() != 0 {
		return f.usageError("takes no arguments")
	}
	env.Stdout.Write(config.Example)
	return exitOK
}
