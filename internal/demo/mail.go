package demo

import (
	"context"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/blocklist"
	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/mail"
	"github.com/vigie/vigie/internal/mail/mailgen"
	"github.com/vigie/vigie/internal/vigie"
)

// 1. A member's stolen password sends a mail a second through
// authenticated submission (club1, 2024), over the normal traffic of a
// small association's server; Microsoft starts refusing the server's mail.
const stolenAccount = "marie@club-asso.example"

func stolenPassword() Scenario {
	return Scenario{
		Name:  "stolen-password",
		Title: "A stolen mail password sends a mail a second",
		Run: func(ctx context.Context, env *Env) (Result, error) {
			start := env.Now.Add(-7 * time.Hour).Truncate(time.Minute)
			sc := mailgen.Scenario{Start: start, End: env.Now, Seed: 1, Users: 25, PerUserPerDay: 20, InboundPerHour: 40,
				Bursts: []mailgen.Burst{
					// Her own mail, the hour before: the habit the graph
					// shows the attack against.
					{User: stolenAccount, Start: start, Every: 5 * time.Minute, Count: 12, Domains: 3},
					{User: stolenAccount, Start: start.Add(time.Hour), Every: time.Second, Count: 3600, Domains: 400},
					// An hour later Microsoft lists the server: its bounces join
					// the account's incident (grouping rule 4).
					// Yahoo defers a third of it: the queue climbs for hours,
					// the graph the club1 admins looked at.
					{User: stolenAccount, Start: start.Add(2 * time.Hour), Every: time.Second, Count: 5 * 3600, Domains: 400, Blocked: true, Deferred: true},
				}}
			return replayMail(ctx, sc, env.Now, map[string]bool{stolenAccount: true}, true)
		},
	}
}

// replayMail writes a Postfix log with mailgen and runs it through the
// mail watch's detectors (mail.Engine, as `vigie replay` does: the log's
// own clock, the queue as the log tells it). The queue depth and the
// per-minute sending of the accounts named in graphs (account: series)
// become graph points.
//
// Both mail scenarios are one server's traffic, replayed apart: only the
// one that owns the queue (queue true) writes the queue's graph points, so
// the two replays do not draw two queues on one graph.
func replayMail(ctx context.Context, sc mailgen.Scenario, now time.Time, graphs map[string]bool, queue bool) (Result, error) {
	var b strings.Builder
	if _, err := sc.Write(&b); err != nil {
		return Result{}, err
	}
	var res Result
	c := &collector{}
	// Remote refusals name their list and carry its delisting steps, from
	// the blocklist watch's built-in zone data, as in the daemon.
	cat, err := blocklist.LoadCatalog("", nil)
	if err != nil {
		return Result{}, err
	}
	e := mail.NewEngine(mail.EngineOptions{Config: config.Default().Mail, Emit: c.emit, LogQueue: true, Delisting: cat.DelistingFor,
		Samples: func(ss []vigie.Sample) {
			for _, s := range ss {
				// The queue, and the accounts the demo graphs, with the
				// series names the mail watch stores and the dashboard reads.
				perAccount := s.Series == string(mail.SeriesAccountMessages) || s.Series == string(mail.SeriesAccountRecipients) || s.Series == string(mail.SeriesAccountAfterDetection)
				if s.Series == string(mail.SeriesQueue) && queue || perAccount && graphs[s.Subject] {
					res.Samples = append(res.Samples, s)
				}
			}
		}})
	n := 0
	lines(b.String(), func(line string) {
		if n++; n%8192 == 0 && err == nil {
			err = ctx.Err()
		}
		e.Line(line)
	})
	if err != nil {
		return res, err
	}
	e.Tick(now)
	res.Findings = c.out
	return res, nil
}
