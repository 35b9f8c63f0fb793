package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie/vigie/internal/metrics"
	"github.com/vigie/vigie/internal/notify"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
)

// Sink is what a watch sees of the pipeline (watch.Sink).
type Sink = watch.Sink

// Options configure a Pipeline.
type Options struct {
	Store     store.Store
	Notifiers []notify.Notifier
	// Routes choose which notifiers hear of which alerts; see Route.
	Routes []Route
	// Dispatch tunes batching, rate limiting and retries, the same for
	// every notifier (Timeout defaults to NotifyTimeout, Now and Logger to
	// the pipeline's).
	Dispatch notify.DispatchOptions
	Grouping Grouping
	// Watches are the watches whose grouping rules apply (their
	// descriptors' Grouping): the app passes watches.All(). nil: none,
	// an alert joins an incident by its Group only (rule 1), else it is
	// its own.
	Watches watch.List
	Logger  *slog.Logger
	Metrics *metrics.Factory
	Now     func() time.Time
	Node    string
	// ResolveAfter is the default for findings that do not set their own.
	ResolveAfter  time.Duration
	NotifyTimeout time.Duration
	// Brief tells an incident to a person for the notifications (what
	// happened, what vigie did, the next step, its page), when a message
	// is built; nil, or an error, leaves the message without it.
	Brief func(ctx context.Context, in vigie.Incident) (*notify.Brief, error)
}

// Pipeline implements Sink. Emit is safe for concurrent use.
type Pipeline struct {
	o           Options
	log         *slog.Logger
	mu          sync.Mutex // one change at a time: keeps incident grouping race-free (see nodes.go for several nodes)
	dispatchers []*dispatcher

	findings    *prometheus.CounterVec
	invalid     prometheus.Counter
	changes     *prometheus.CounterVec
	delivered   *prometheus.CounterVec
	activeGauge *prometheus.GaugeVec
}

// dispatcher is one notifier's queue with the routes that feed it.
type dispatcher struct {
	*notify.Dispatcher
	notifier   notify.Notifier
	accept     func(a *vigie.Alert) bool
	refreshing atomic.Bool
}

// New returns a pipeline; call Run to deliver notifications and resolve
// stale alerts.
func New(o Options) *Pipeline {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = metrics.New(prometheus.NewRegistry())
	}
	if o.NotifyTimeout <= 0 {
		o.NotifyTimeout = 10 * time.Second
	}
	if o.Grouping.BlocklistWindow <= 0 {
		o.Grouping.BlocklistWindow = 72 * time.Hour
	}
	if o.Grouping.CTWindow <= 0 {
		o.Grouping.CTWindow = 48 * time.Hour
	}
	m := o.Metrics
	p := &Pipeline{
		o:   o,
		log: o.Logger.With("component", "alert"),
		findings: m.CounterVec(prometheus.CounterOpts{Name: "vigie_alert_findings_total",
			Help: "Findings received from the watches."}, "watch"),
		invalid: m.Counter(prometheus.CounterOpts{Name: "vigie_alert_findings_invalid_total",
			Help: "Findings refused because a watch left a required field empty."}),
		changes: m.CounterVec(prometheus.CounterOpts{Name: "vigie_alert_changes_total",
			Help: "Alert state changes, by watch and change (fired, refired, escalated, resolved)."}, "watch", "change"),
		delivered: m.CounterVec(prometheus.CounterOpts{Name: "vigie_notify_deliveries_total",
			Help: "Message delivery attempts, by notifier and result (ok, retry, error)."}, "notifier", "result"),
		activeGauge: m.GaugeVec(prometheus.GaugeOpts{Name: "vigie_alerts_active",
			Help: "Alerts firing or acknowledged, by watch, severity and state, as of the last check."}, "watch", "severity", "state"),
	}
	for _, n := range o.Notifiers {
		do := o.Dispatch
		if do.Timeout <= 0 {
			do.Timeout = o.NotifyTimeout
		}
		if do.Now == nil {
			do.Now = o.Now
		}
		if do.Logger == nil {
			do.Logger = o.Logger
		}
		do.Record = p.recordAttempt
		do.Outbox = storeOutbox{p: p, notifier: n.Name()}
		p.dispatchers = append(p.dispatchers, &dispatcher{Dispatcher: notify.NewDispatcher(n, do), notifier: n, accept: routeFilter(n.Name(), o.Routes)})
	}
	return p
}

// Emit records a finding: the finding itself, its alert, the alert's
// incident and timeline, all persisted before any notification is sent.
// The notifications of an alert change are written to the store's outbox
// in the same transaction as the change, so a crash loses neither.
func (p *Pipeline) Emit(ctx context.Context, f vigie.Finding) error {
	if err := f.Validate(); err != nil {
		p.invalid.Inc()
		return err
	}
	if f.Time.IsZero() {
		f.Time = p.o.Now()
	}
	f.Time = f.Time.UTC()
	if f.Node == "" {
		f.Node = p.o.Node
	}
	f.Group = groupKey(p.o.Watches, &f)
	p.findings.WithLabelValues(f.Watch).Inc()

	p.mu.Lock()
	defer p.mu.Unlock()
	unlock, err := p.groupLocks(ctx, f.Group)
	if err != nil {
		return err
	}
	defer unlock()
	var c change
	a, err := p.o.Store.UpdateAlertNotify(ctx, f.AlertKey(), func(a *vigie.Alert) error {
		var ok bool
		if c, ok = apply(a, &f, p.o.ResolveAfter); !ok {
			return store.ErrNoChange
		}
		return nil
	}, func(a vigie.Alert) []store.OutboxItem {
		if c == counted {
			return nil
		}
		return p.outboxItems(c, f.Time)(a)
	})
	if errors.Is(err, store.ErrNoChange) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, err := p.o.Store.AddFinding(ctx, f, a.ID); err != nil {
		return err
	}
	if c == counted {
		return nil
	}
	p.changes.WithLabelValues(a.Watch, string(c)).Inc()
	_, err = p.record(ctx, &a, c, f.Time)
	p.wake(&a) // even on error: the notifications are in the outbox
	return err
}

// record keeps the alert's incident and timeline up to date with change c.
func (p *Pipeline) record(ctx context.Context, a *vigie.Alert, c change, at time.Time) (vigie.Incident, error) {
	s := p.o.Store
	if c == notify.Fired || c == notify.Refired {
		in, why, err := p.incidentFor(ctx, a, at)
		if err != nil {
			return in, err
		}
		if a.IncidentID != in.ID {
			if _, err := s.UpdateAlert(ctx, a.Key, func(x *vigie.Alert) error { x.IncidentID = in.ID; return nil }); err != nil {
				return in, err
			}
			a.IncidentID = in.ID
		}
		if err := p.indexDomains(ctx, a, in.ID); err != nil {
			return in, err
		}
		if why.reopened != "" {
			if err := p.timeline(ctx, in.ID, at, vigie.TimelineState, a.ID, "incident re-opened: "+why.reopened); err != nil {
				return in, err
			}
		}
		text := fmt.Sprintf("%s %s/%s %s: %s", c, a.Watch, a.Rule, a.Subject, a.Summary)
		var data map[string]string
		if why.joined != "" {
			text += " (joined: " + why.joined + ")"
			data = map[string]string{"grouping": why.joined}
		}
		return in, p.addTimeline(ctx, vigie.TimelineEntry{IncidentID: in.ID, Time: at, Kind: vigie.TimelineFinding,
			Actor: "vigie", Text: text, AlertID: a.ID, Data: data})
	}
	if a.IncidentID == 0 {
		return vigie.Incident{}, nil
	}
	switch c {
	case notify.Escalated:
		in, err := s.UpdateIncident(ctx, a.IncidentID, func(in *vigie.Incident) error {
			if a.Severity <= in.Severity {
				return store.ErrNoChange
			}
			in.Severity = a.Severity
			return nil
		})
		if errors.Is(err, store.ErrNoChange) {
			in, err = s.Incident(ctx, a.IncidentID)
		}
		if err != nil {
			return in, err
		}
		return in, p.timeline(ctx, in.ID, at, vigie.TimelineFinding, a.ID, fmt.Sprintf("escalated to %s: %s/%s %s: %s", a.Severity, a.Watch, a.Rule, a.Subject, a.Summary))
	case notify.Resolved:
		if err := p.timeline(ctx, a.IncidentID, at, vigie.TimelineState, a.ID, fmt.Sprintf("resolved %s/%s %s", a.Watch, a.Rule, a.Subject)); err != nil {
			return vigie.Incident{}, err
		}
		return p.resolveIncidentIfDone(ctx, a.IncidentID, at)
	}
	return s.Incident(ctx, a.IncidentID)
}

// reason says why an alert went where it went, for the timeline.
type reason struct{ joined, reopened string }

// incidentFor chooses the incident of an alert that fired or fired again,
// following the grouping rules (see grouping.go): the alert's own incident
// while it is not resolved, else the open incident of its group, else one
// a cross-watch rule points at, else its own incident re-opened, else a
// new one.
func (p *Pipeline) incidentFor(ctx context.Context, a *vigie.Alert, at time.Time) (vigie.Incident, reason, error) {
	s := p.o.Store
	var own vigie.Incident
	if a.IncidentID != 0 {
		var err error
		own, err = s.Incident(ctx, a.IncidentID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return own, reason{}, err
		}
		if err == nil && own.State != vigie.IncidentResolved {
			in, err := p.raise(ctx, own, a)
			return in, reason{}, err
		}
	}
	in, err := p.openForGroup(ctx, a.Group)
	if err == nil {
		in, err = p.raise(ctx, in, a)
		return in, reason{}, err
	}
	if !errors.Is(err, store.ErrNotFound) {
		return in, reason{}, err
	}
	in, rule, err := p.joinRule(ctx, a, at)
	if err == nil {
		why := reason{joined: rule}
		if in.State == vigie.IncidentResolved {
			why.reopened = rule
		}
		in, err = p.raise(ctx, in, a)
		return in, why, err
	}
	if !errors.Is(err, store.ErrNotFound) {
		return in, reason{}, err
	}
	if own.ID != 0 {
		in, err := p.raise(ctx, own, a)
		return in, reason{reopened: "the same thing came back"}, err
	}
	in, err = s.UpdateIncident(ctx, 0, func(in *vigie.Incident) error {
		in.Key, in.Title, in.Severity = a.Group, incidentTitle(a), a.Severity
		in.State, in.OpenedAt = vigie.IncidentOpen, at
		return nil
	})
	if err != nil {
		return in, reason{}, err
	}
	return in, reason{}, p.putIndex(ctx, groupIndexKey(a.Group), in.ID)
}

// raise makes incident in take alert a: its severity rises to the alert's,
// and a resolved incident opens again.
func (p *Pipeline) raise(ctx context.Context, in vigie.Incident, a *vigie.Alert) (vigie.Incident, error) {
	updated, err := p.o.Store.UpdateIncident(ctx, in.ID, func(in *vigie.Incident) error {
		if a.Severity <= in.Severity && in.State != vigie.IncidentResolved {
			return store.ErrNoChange
		}
		if a.Severity > in.Severity {
			in.Severity = a.Severity
		}
		if in.State == vigie.IncidentResolved {
			in.State, in.ResolvedAt, in.AckedBy, in.AckedAt = vigie.IncidentOpen, time.Time{}, "", time.Time{}
		}
		return nil
	})
	if errors.Is(err, store.ErrNoChange) {
		return in, nil
	}
	return updated, err
}

func incidentTitle(a *vigie.Alert) string {
	if a.Summary != "" {
		return a.Summary
	}
	return fmt.Sprintf("%s %s: %s", a.Watch, a.Rule, a.Subject)
}

// resolveIncidentIfDone resolves an incident whose alerts are all resolved.
func (p *Pipeline) resolveIncidentIfDone(ctx context.Context, id int64, at time.Time) (vigie.Incident, error) {
	s := p.o.Store
	active, err := s.ListAlerts(ctx, store.AlertQuery{IncidentID: id, States: []vigie.AlertState{vigie.AlertFiring, vigie.AlertAcknowledged}, Limit: 1})
	if err != nil {
		return vigie.Incident{}, err
	}
	if len(active) > 0 {
		return s.Incident(ctx, id)
	}
	in, err := s.UpdateIncident(ctx, id, func(in *vigie.Incident) error {
		if in.State == vigie.IncidentResolved {
			return store.ErrNoChange
		}
		in.State, in.ResolvedAt = vigie.IncidentResolved, at
		return nil
	})
	if errors.Is(err, store.ErrNoChange) {
		return s.Incident(ctx, id)
	}
	if err != nil {
		return in, err
	}
	return in, p.timeline(ctx, id, at, vigie.TimelineState, 0, "incident resolved: all its alerts are resolved")
}

func (p *Pipeline) timeline(ctx context.Context, incident int64, at time.Time, kind vigie.TimelineKind, alertID int64, text string) error {
	return p.addTimeline(ctx, vigie.TimelineEntry{IncidentID: incident, Time: at, Kind: kind, Actor: "vigie", Text: text, AlertID: alertID})
}

func (p *Pipeline) addTimeline(ctx context.Context, e vigie.TimelineEntry) error {
	_, err := p.o.Store.AddTimeline(ctx, e)
	return err
}

// wake tells the notifiers whose routes take a that their outbox has
// something new.
func (p *Pipeline) wake(a *vigie.Alert) {
	for _, d := range p.dispatchers {
		if d.accept(a) {
			d.Wake()
		}
	}
}
