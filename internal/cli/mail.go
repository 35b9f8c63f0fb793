package cli

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/vigie/vigie/internal/mail"
	"github.com/vigie/vigie/internal/mail/postfixlog"
	"github.com/vigie/vigie/internal/replay"
)

func mailCommand() *command {
	return &command{name: "mail", summary: "the mail watch: log summaries; contain an account (suspend, hold, release, purge)",
		sub: append([]*command{
			{name: "report", summary: "a pflogsumm-style summary of Postfix logs", run: mailReport},
		}, mailActionCommands()...)}
}

func mailReport(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "vigie mail report", "[--json] [--top N] FILE...", `
Summarises Postfix logs (plain or .gz) like pflogsumm, with the parser the
mail watch uses: messages received, delivered, deferred, bounced, expired
and rejected; SASL failures; per SASL user and per local uid the messages,
recipients, distinct recipient domains, bounces and deferrals; and per
hour. Classic syslog stamps are dated in the current year.`)
	asJSON := f.Bool("json", false, "print the report as one JSON object")
	top := f.Int("top", 20, "senders to list (0: all)")
	if code, ok := f.parse(args); !ok {
		return code
	}
	if f.NArg() == 0 {
		return f.usageError("expected at least one log FILE")
	}
	rp := mail.NewReporter(postfixlog.Options{})
	for _, name := range f.Args() {
		_, skipped, err := replay.ReadFile(ctx, name, 1<<20, rp.Line)
		for range skipped {
			rp.Skipped()
		}
		if err != nil {
			fmt.Fprintf(env.Stderr, "vigie mail report: %v\n", err)
			return exitFail
		}
	}
	r := rp.Report()
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		if err := enc.Encode(r); err != nil {
			fmt.Fprintf(env.Stderr, "vigie mail report: %v\n", err)
			return exitFail
		}
		return exitOK
	}
	if err := r.WriteText(env.Stdout, replay.Escape, *top); err != nil {
		fmt.Fprintf(env.Stderr, "vigie mail report: %v\n", err)
		return exitFail
	}
	return exitOK
}
