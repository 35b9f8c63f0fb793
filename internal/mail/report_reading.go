package mail

import (
	"context"
	"strconv"
	"strings"

	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
)

// report reads a mail alert as the account it is about and what it sent;
// an account-volume alert also as its detection: what it sent after, its
// habit and limit, the series that draw it.
func report() *watch.Report {
	return &watch.Report{
		Evidence: []watch.EvidenceKey{EvidenceMessages, EvidenceRecipients, EvidenceMessagesAfterDetection, EvidenceRecipientsAfterDetection,
			EvidenceBouncesHour, EvidenceHabit, EvidenceLimit, EvidenceWindow},
		Read: func(ctx context.Context, a *vigie.Alert, findings func(context.Context) ([]vigie.Finding, error)) (watch.Reading, error) {
			acc := watch.Account{Name: a.Subject}
			fs, err := findings(ctx)
			if err != nil {
				return watch.Reading{}, err
			}
			volume := a.Watch == WatchName && a.Rule == string(RuleAccountVolume)
			for _, f := range fs { // newest first: the last one read detected it
				ev := f.Evidence
				acc.Messages = max(acc.Messages, count(ev[EvidenceMessages]))
				acc.Recipients = max(acc.Recipients, count(ev[EvidenceRecipients]))
				if !volume {
					continue
				}
				_, known := ev[EvidenceMessagesAfterDetection]
				acc.AfterKnown = acc.AfterKnown || known
				acc.AfterMessages = max(acc.AfterMessages, count(ev[EvidenceMessagesAfterDetection]))
				acc.AfterRecipients = max(acc.AfterRecipients, count(ev[EvidenceRecipientsAfterDetection]))
				acc.Bounces = max(acc.Bounces, count(ev[EvidenceBouncesHour]))
				if lim := perMinute(ev[EvidenceLimit], ev[EvidenceWindow]); !f.Resolved && lim > 0 {
					acc.LimitPerMinute, acc.HabitPerMinute = lim, perMinute(ev[EvidenceHabit], ev[EvidenceWindow])
				}
			}
			if volume {
				acc.Detected, acc.LastSeen, acc.Firing = a.FirstSeen, a.LastSeen, a.State.Active()
				if !acc.Firing {
					acc.ResolvedAt = a.ResolvedAt
				}
				acc.Series, acc.RunningSeries = SeriesAccountMessages, SeriesAccountAfterDetection
			}
			return watch.Reading{Accounts: []watch.Account{acc}}, nil
		},
	}
}

func count(s string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// perMinute is a count over the named window ("minute", "hour", "pace",
// "day") as a rate per minute. "pace" is the slow-attack rule: messages in
// the last hour against the busiest day, at a steady pace: an hourly limit.
func perMinute(n, window string) float64 {
	per := map[string]float64{"minute": 1, "hour": 60, "pace": 60, "day": 1440}[window]
	if per == 0 {
		return 0
	}
	return float64(count(n)) / per
}
