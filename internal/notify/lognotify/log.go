// Package lognotify writes alert changes to vigie's own log, the notifier
// that always works.
package lognotify

import (
	"context"
	"log/slog"

	"github.com/vigie/vigie/internal/notify"
	"github.com/vigie/vigie/internal/vigie"
)

// Notifier logs each notification at or above a severity.
type Notifier struct {
	log *slog.Logger
	min vigie.Severity
}

// New returns a log notifier.
func New(log *slog.Logger, min vigie.Severity) *Notifier {
	return &Notifier{log: log.With("component", "notify", "notifier", "log"), min: min}
}

// Name implements notify.Notifier.
func (n *Notifier) Name() string { return "log" }

// Notify implements notify.Notifier: one log record per alert change, at
// or above the minimum severity (resolutions always). slog quotes and
// escapes values, so hostile text from findings cannot forge log lines.
func (n *Notifier) Notify(ctx context.Context, m *notify.Message) error {
	for _, no := range m.Notifications {
		a := no.Alert
		if a.Severity < n.min && no.Change != notify.Resolved {
			continue
		}
		level := slog.LevelWarn
		if no.Change == notify.Resolved {
			level = slog.LevelInfo
		}
		attrs := []any{"alert", a.ID, "incident", a.IncidentID, "watch", a.Watch, "rule", a.Rule, "subject", a.Subject,
			"severity", a.Severity.String(), "count", a.Count, "first_seen", a.FirstSeen, "summary", a.Summary}
		if b := no.Brief; b != nil {
			attrs = append(attrs, "incident_headline", b.Headline, "vigie_did", b.Did, "next_step", b.Next, "url", b.URL)
		}
		n.log.Log(ctx, level, "alert "+string(no.Change), attrs...)
	}
	return nil
}
