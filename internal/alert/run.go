package alert

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vigie/vigie/internal/notify"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
)

// Run delivers notifications, each notifier on its own goroutine so a slow
// or failing receiver delays no other, and, every checkEvery, resolves
// alerts that no finding repeated within their ResolveAfter. It returns
// when ctx is done, after trying for at most drain to deliver what was
// queued.
func (p *Pipeline) Run(ctx context.Context, checkEvery, drain time.Duration) error {
	var wg sync.WaitGroup
	for _, d := range p.dispatchers {
		wg.Add(1)
		go func() { defer wg.Done(); d.Run(ctx, drain) }()
	}
	defer wg.Wait()
	tick := time.NewTicker(checkEvery)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if _, err := p.ResolveStale(ctx); err != nil && ctx.Err() == nil {
				p.log.Error("resolving stale alerts", "err", err)
			}
			p.refresh(ctx, &wg)
		case <-ctx.Done():
			return nil
		}
	}
}

// refresh re-sends the active alerts to the notifiers whose receivers
// forget what is not sent again (Alertmanager), each on its own goroutine
// and at most one at a time, so a slow receiver delays nothing.
func (p *Pipeline) refresh(ctx context.Context, wg *sync.WaitGroup) {
	var active []vigie.Alert
	for _, d := range p.dispatchers {
		r, ok := d.notifier.(notify.Refresher)
		if !ok || !d.refreshing.CompareAndSwap(false, true) {
			continue
		}
		if active == nil {
			var err error
			active, err = p.o.Store.ListAlerts(ctx, store.AlertQuery{States: []vigie.AlertState{vigie.AlertFiring, vigie.AlertAcknowledged}, Limit: 100000})
			if err != nil {
				d.refreshing.Store(false)
				if ctx.Err() == nil {
					p.log.Error("listing active alerts to refresh", "err", err)
				}
				return
			}
		}
		var mine []vigie.Alert
		for i := range active {
			if d.accept(&active[i]) {
				mine = append(mine, active[i])
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer d.refreshing.Store(false)
			rctx, cancel := context.WithTimeout(ctx, p.o.NotifyTimeout)
			defer cancel()
			if err := r.Refresh(rctx, mine); err != nil && ctx.Err() == nil {
				p.delivered.WithLabelValues(r.Name(), "retry").Inc()
				p.log.Warn("refreshing active alerts failed; next check retries", "notifier", r.Name(), "err", err)
			}
		}()
	}
}

// Drain delivers what is queued, for at most d, when Run is not running
// (replay, commands). Notifiers are flushed side by side.
func (p *Pipeline) Drain(d time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	for _, ds := range p.dispatchers {
		wg.Add(1)
		go func() { defer wg.Done(); ds.Flush(ctx) }()
	}
	wg.Wait()
}

// recordAttempt writes one delivery attempt into the timeline of every
// incident its message is about, and counts it.
func (p *Pipeline) recordAttempt(ctx context.Context, a notify.Attempt) {
	result := "ok"
	switch {
	case a.Err != nil && a.GaveUp:
		result = "error"
	case a.Err != nil:
		result = "retry"
	}
	p.delivered.WithLabelValues(a.Notifier, result).Inc()
	now := p.o.Now().UTC()
	for _, g := range a.Message.Groups() {
		if g.Incident.ID == 0 {
			continue
		}
		n := len(g.Notifications)
		var text string
		switch result {
		case "ok":
			text = fmt.Sprintf("notified %s: %s (message %s, %d alert changes", a.Notifier, changesText(g.Notifications), a.Message.ID, n)
			if a.Number > 1 {
				text += fmt.Sprintf(", after %d attempts", a.Number)
			}
			text += ")"
		case "retry":
			text = fmt.Sprintf("notifying %s failed (attempt %d): %v; retrying in %s", a.Notifier, a.Number, a.Err, a.Retry)
		default:
			text = fmt.Sprintf("notifying %s failed, given up after attempt %d: %v", a.Notifier, a.Number, a.Err)
		}
		data := map[string]string{"notifier": a.Notifier, "result": result, "message": a.Message.ID,
			"attempt": fmt.Sprint(a.Number), "changes": fmt.Sprint(n)}
		if err := p.addTimeline(ctx, vigie.TimelineEntry{IncidentID: g.Incident.ID, Time: now, Kind: vigie.TimelineNotification,
			Actor: a.Notifier, Text: text, AlertID: g.Notifications[0].Alert.ID, Data: data}); err != nil && ctx.Err() == nil {
			p.log.Error("recording a delivery in the timeline", "err", err)
		}
	}
}

// changesText says "alert fired" for one change, "3 fired, 1 resolved" for
// several.
func changesText(ns []notify.Notification) string {
	if len(ns) == 1 {
		return "alert " + string(ns[0].Change)
	}
	counts := map[notify.Change]int{}
	for _, n := range ns {
		counts[n.Change]++
	}
	var s string
	for _, c := range []notify.Change{notify.Fired, notify.Refired, notify.Escalated, notify.Resolved} {
		if counts[c] > 0 {
			if s != "" {
				s += ", "
			}
			s += fmt.Sprintf("%d %s", counts[c], c)
		}
	}
	return s
}

// ResolveStale resolves the active alerts whose last finding is older than
// their ResolveAfter, as of now, and refreshes the active-alerts gauge.
func (p *Pipeline) ResolveStale(ctx context.Context) (int, error) {
	now := p.o.Now().UTC()
	active, err := p.o.Store.ListAlerts(ctx, store.AlertQuery{States: []vigie.AlertState{vigie.AlertFiring, vigie.AlertAcknowledged}, Limit: 100000})
	if err != nil {
		return 0, err
	}
	resolved := 0
	type labels struct{ watch, severity, state string }
	perWatch := map[labels]int{}
	for _, a := range active {
		if a.ResolveAfter <= 0 || now.Sub(a.LastSeen) < a.ResolveAfter {
			perWatch[labels{a.Watch, a.Severity.String(), string(a.State)}]++
			continue
		}
		err := p.Emit(ctx, vigie.Finding{Watch: a.Watch, Rule: a.Rule, Subject: a.Subject, Key: a.Key, Group: a.Group,
			Time: now, Resolved: true, Summary: fmt.Sprintf("%s (no new finding for %s)", a.Summary, a.ResolveAfter)})
		if err != nil {
			return resolved, err
		}
		resolved++
	}
	p.activeGauge.Reset()
	for l, n := range perWatch {
		p.activeGauge.WithLabelValues(l.watch, l.severity, l.state).Set(float64(n))
	}
	return resolved, nil
}

// Acknowledge marks an alert as being handled by actor, records it in the
// audit log and the incident timeline.
func (p *Pipeline) Acknowledge(ctx context.Context, alertID int64, actor string) (vigie.Alert, error) {
	a, err := p.o.Store.Alert(ctx, alertID)
	if err != nil {
		return a, err
	}
	now := p.o.Now().UTC()
	a, err = p.o.Store.UpdateAlert(ctx, a.Key, func(x *vigie.Alert) error {
		if x.State != vigie.AlertFiring {
			return fmt.Errorf("alert %d is %s, only a firing alert can be acknowledged", alertID, x.State)
		}
		x.State, x.AckedBy, x.AckedAt = vigie.AlertAcknowledged, actor, now
		return nil
	})
	result := "ok"
	if err != nil {
		result = err.Error()
	}
	if _, aerr := p.o.Store.AddAudit(ctx, vigie.AuditEntry{Time: now, Actor: actor, Action: "alert.acknowledge",
		Target: fmt.Sprint(alertID), Result: result}); aerr != nil {
		err = errors.Join(err, aerr)
	}
	if err != nil {
		return a, err
	}
	if a.IncidentID != 0 {
		if _, err := p.o.Store.AddTimeline(ctx, vigie.TimelineEntry{IncidentID: a.IncidentID, Time: now, Kind: vigie.TimelineState,
			Actor: actor, Text: fmt.Sprintf("%s acknowledged %s/%s %s", actor, a.Watch, a.Rule, a.Subject), AlertID: a.ID}); err != nil {
			return a, err
		}
	}
	return a, nil
}

// NotifierHealth is one notifier's delivery state.
type NotifierHealth struct {
	Name         string
	FailingSince time.Time // zero: its last try succeeded (or none yet)
	LastError    string
	LastOK       time.Time
}

// Notifiers says how each notifier's deliveries go, for the self-watch.
func (p *Pipeline) Notifiers() []NotifierHealth {
	out := make([]NotifierHealth, 0, len(p.dispatchers))
	for _, d := range p.dispatchers {
		since, lastErr, ok := d.Health()
		out = append(out, NotifierHealth{Name: d.Name(), FailingSince: since, LastError: lastErr, LastOK: ok})
	}
	return out
}
