package cli

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/replay"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watches"
)

func replayCommand() *command {
	return &command{name: "replay", summary: "run log files through the detectors, on the log's own clock", run: replayRun}
}

// replaySets are the log-based detector sets replay runs, each recognising
// its own lines.
func replaySets(cfg *config.Config, log *slog.Logger) []replay.NewSet {
	var out []replay.NewSet
	for _, d := range watches.All() {
		if d.Replay == nil {
			continue
		}
		out = append(out, func(emit func(vigie.Finding)) (replay.Set, error) { return d.Replay(cfg, log, emit) })
	}
	return out
}

func replayRun(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "vigie replay", "[--config FILE] [--json] FILE...", `
Runs log files (plain or .gz, in the order given: oldest first) through
every log-based detector, with the log's own timestamps as the clock, and
prints each alert change at the log time it would have happened: fired,
escalated, resolved. The findings go through the daemon's alert pipeline
(de-duplication, severity, resolution) with a throwaway store, so this
answers "would vigie have caught it?" with the daemon's own code.

Postfix lines (syslog mail.log, maillog_file, journalctl -o short-iso) are
read by the mail detectors; classic syslog stamps, which have no year,
are dated in the current year. Web access-log lines (nginx or Apache
combined format, with or without a leading virtual host) are read by the
web watch's access-log detectors (exploitation requests, brute force, POST
floods). Thresholds come from --config (the mail: and web: sections);
without it, the defaults.

With --json, one JSON object per line: time (RFC 3339, the log time),
change, watch, rule, severity, subject, summary, key, evidence. A line
about what was read goes to stderr. Exit status 0, or 1 when a file could
not be read.`)
	cfgPath := f.configFlag()
	asJSON := f.Bool("json", false, "one JSON object per alert change")
	if code, ok := f.parse(args); !ok {
		return code
	}
	if f.NArg() == 0 {
		return f.usageError("expected at least one log FILE")
	}
	cfg, code, ok := loadConfig(env, *cfgPath)
	if !ok {
		return code
	}
	res, err := replay.Run(ctx, replay.Options{Sets: replaySets(cfg, slog.New(slog.NewTextHandler(env.Stderr, nil))), Out: env.Stdout, JSON: *asJSON,
		ResolveAfter: cfg.Alerts.ResolveAfter, Watches: watches.All()}, f.Args())
	fmt.Fprintf(env.Stderr, "vigie replay: %s\n", res.Summary())
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigie replay: %v\n", err)
		return exitFail
	}
	return exitOK
}
