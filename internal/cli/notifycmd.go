package cli

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/notify"
	"github.com/vigie/vigie/internal/notify/setup"
	"github.com/vigie/vigie/internal/vigie"
)

func notifyCommand() *command {
	return &command{name: "notify", summary: "check the notifiers", sub: []*command{
		{name: "test", summary: "send a test message through each configured notifier", run: notifyTest},
	}}
}

func notifyTest(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "vigie notify test", "[--config FILE] [--notifier NAME]", `
Sends one test message through each notifier configured under notify: (or
only NAME), once, without retries, and says for each whether it was
delivered. Exit status 1 when any failed.`)
	cfgPath := f.configFlag()
	only := f.String("notifier", "", "test only the notifier with this name")
	if code, ok := f.parse(args); !ok {
		return code
	}
	if f.NArg() != 0 {
		return f.usageError("takes no arguments, got %q", f.Args())
	}
	cfg, code, ok := loadConfig(env, *cfgPath)
	if !ok {
		return code
	}
	built, err := setup.Build(cfg, slog.New(slog.NewTextHandler(env.Stderr, nil)))
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigie notify test: %v\n", err)
		return exitUsage
	}
	tested, failed := 0, 0
	for _, n := range built.Notifiers {
		if *only != "" && n.Name() != *only {
			continue
		}
		tested++
		if err := sendTestMessage(ctx, cfg, n, cfg.Alerts.NotifyTimeout); err != nil {
			failed++
			fmt.Fprintf(env.Stdout, "%s: failed: %v\n", n.Name(), err)
			continue
		}
		fmt.Fprintf(env.Stdout, "%s: delivered\n", n.Name())
	}
	if tested == 0 {
		fmt.Fprintf(env.Stderr, "vigie notify test: no notifier named %q is configured\n", *only)
		return exitUsage
	}
	if failed > 0 {
		return exitFail
	}
	return exitOK
}

// sendTestMessage sends one test message through n, once, without retries.
func sendTestMessage(ctx context.Context, cfg *config.Config, n notify.Notifier, timeout time.Duration) error {
	now := time.Now().UTC()
	a := vigie.Alert{ID: 0, Key: "vigie/test/notify", Watch: "vigie", Rule: "test", Subject: "notify", Severity: vigie.SeverityInfo,
		State: vigie.AlertFiring, Summary: "test message from vigie: this notifier works", FirstSeen: now, LastSeen: now,
		Count: 1, Node: cfg.Node}
	m := &notify.Message{ID: fmt.Sprintf("test-%d", now.UnixNano()), Time: now,
		Notifications: []notify.Notification{{Change: notify.Fired, Alert: a, Time: now}}}
	nctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return n.Notify(nctx, m)
}
