package alert

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vigie/vigie/internal/notify"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
)

// Run delivers queued notifications and, every checkEvery, resolves alerts
// that no finding repeated within their ResolveAfter. It returns when ctx
// is done, after trying for at most drain to deliver what was queued.
func (p *Pipeline) Run(ctx context.Context, checkEvery, drain time.Duration) error {
	// Deliveries outlive ctx by at most drain, so that a notification
	// taken from the queue as the daemon stops is still delivered.
	dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(drain, cancel) })
	defer stop()
	tick := time.NewTicker(checkEvery)
	defer tick.Stop()
	for {
		select {
		case n := <-p.queue:
			p.deliver(dctx, n)
		case <-tick.C:
			if _, err := p.ResolveStale(ctx); err != nil && ctx.Err() == nil {
				p.log.Error("resolving stale alerts", "err", err)
			}
		case <-ctx.Done():
			p.drain(dctx)
			return nil
		}
	}
}

// Drain delivers what is queued, for at most d. Replay uses it.
func (p *Pipeline) Drain(d time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	p.drain(ctx)
}

func (p *Pipeline) drain(ctx context.Context) {
	for ctx.Err() == nil {
		select {
		case n := <-p.queue:
			p.deliver(ctx, n)
		default:
			return
		}
	}
	if left := len(p.queue); left > 0 {
		p.log.Warn("stopped before delivering every notification", "left", left)
	}
}

// deliver sends one notification to every notifier, each bounded by the
// notify timeout, and records each delivery in the incident's timeline.
func (p *Pipeline) deliver(ctx context.Context, n notify.Notification) {
	for _, nt := range p.o.Notifiers {
		dctx, cancel := context.WithTimeout(ctx, p.o.NotifyTimeout)
		err := nt.Notify(dctx, n)
		cancel()
		result, text := "ok", fmt.Sprintf("notified %s: alert %s", nt.Name(), n.Change)
		if err != nil {
			result, text = "error", fmt.Sprintf("notifying %s failed: %v", nt.Name(), err)
			p.log.Error("notification failed", "notifier", nt.Name(), "alert", n.Alert.ID, "err", err)
		}
		p.delivered.WithLabelValues(nt.Name(), result).Inc()
		if n.Alert.IncidentID != 0 {
			_, terr := p.o.Store.AddTimeline(ctx, vigie.TimelineEntry{IncidentID: n.Alert.IncidentID, Time: p.o.Now().UTC(),
				Kind: vigie.TimelineNotification, Actor: nt.Name(), Text: text, AlertID: n.Alert.ID})
			if terr != nil && ctx.Err() == nil {
				p.log.Error("recording a delivery in the timeline", "err", terr)
			}
		}
	}
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
	perWatch := map[string]int{}
	for _, a := range active {
		if a.ResolveAfter <= 0 || now.Sub(a.LastSeen) < a.ResolveAfter {
			perWatch[a.Watch]++
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
	for w, n := range perWatch {
		p.activeGauge.WithLabelValues(w).Set(float64(n))
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
