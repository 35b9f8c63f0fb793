package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie/vigie/internal/metrics"
	"github.com/vigie/vigie/internal/notify"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
)

// Sink is what a watch sees of the pipeline.
type Sink interface {
	Emit(ctx context.Context, f vigie.Finding) error
}

// Options configure a Pipeline.
type Options struct {
	Store     store.Store
	Notifiers []notify.Notifier
	Logger    *slog.Logger
	Metrics   *metrics.Factory
	Now       func() time.Time
	Node      string
	// ResolveAfter is the default for findings that do not set their own.
	ResolveAfter  time.Duration
	NotifyTimeout time.Duration
	// QueueSize bounds notifications waiting for delivery (default 4096).
	QueueSize int
}

// Pipeline implements Sink. Emit is safe for concurrent use.
type Pipeline struct {
	o     Options
	log   *slog.Logger
	mu    sync.Mutex // one finding at a time: keeps incident grouping race-free
	queue chan notify.Notification

	findings    *prometheus.CounterVec
	invalid     prometheus.Counter
	changes     *prometheus.CounterVec
	delivered   *prometheus.CounterVec
	dropped     prometheus.Counter
	activeGauge *prometheus.GaugeVec
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
	if o.QueueSize <= 0 {
		o.QueueSize = 4096
	}
	m := o.Metrics
	return &Pipeline{
		o:     o,
		log:   o.Logger.With("component", "alert"),
		queue: make(chan notify.Notification, o.QueueSize),
		findings: m.CounterVec(prometheus.CounterOpts{Name: "vigie_alert_findings_total",
			Help: "Findings received from the watches."}, "watch"),
		invalid: m.Counter(prometheus.CounterOpts{Name: "vigie_alert_findings_invalid_total",
			Help: "Findings refused because a watch left a required field empty."}),
		changes: m.CounterVec(prometheus.CounterOpts{Name: "vigie_alert_changes_total",
			Help: "Alert state changes, by watch and change (fired, refired, escalated, resolved)."}, "watch", "change"),
		delivered: m.CounterVec(prometheus.CounterOpts{Name: "vigie_notify_deliveries_total",
			Help: "Notification deliveries, by notifier and result (ok, error)."}, "notifier", "result"),
		dropped: m.Counter(prometheus.CounterOpts{Name: "vigie_notify_dropped_total",
			Help: "Notifications dropped because the delivery queue was full (the alerts are stored)."}),
		activeGauge: m.GaugeVec(prometheus.GaugeOpts{Name: "vigie_alerts_active",
			Help: "Alerts firing or acknowledged, by watch, as of the last check."}, "watch"),
	}
}

// Emit records a finding: the finding itself, its alert, the alert's
// incident and timeline, all persisted before any notification is queued.
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
	p.findings.WithLabelValues(f.Watch).Inc()

	p.mu.Lock()
	defer p.mu.Unlock()
	var c change
	a, err := p.o.Store.UpdateAlert(ctx, f.AlertKey(), func(a *vigie.Alert) error {
		var ok bool
		if c, ok = apply(a, &f, p.o.ResolveAfter); !ok {
			return store.ErrNoChange
		}
		return nil
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
	in, err := p.record(ctx, &a, c, f.Time)
	if err != nil {
		return err
	}
	p.enqueue(notify.Notification{Change: c, Alert: a, Incident: in, Time: f.Time})
	return nil
}

// record keeps the alert's incident and timeline up to date with change c.
func (p *Pipeline) record(ctx context.Context, a *vigie.Alert, c change, at time.Time) (vigie.Incident, error) {
	s := p.o.Store
	if c == notify.Fired || c == notify.Refired {
		in, reopened, err := p.incidentFor(ctx, a, at)
		if err != nil {
			return in, err
		}
		if a.IncidentID != in.ID {
			if _, err := s.UpdateAlert(ctx, a.Key, func(x *vigie.Alert) error { x.IncidentID = in.ID; return nil }); err != nil {
				return in, err
			}
			a.IncidentID = in.ID
		}
		if reopened {
			if err := p.timeline(ctx, in.ID, at, vigie.TimelineState, a.ID, "incident re-opened: the same thing came back"); err != nil {
				return in, err
			}
		}
		return in, p.timeline(ctx, in.ID, at, vigie.TimelineFinding, a.ID, fmt.Sprintf("%s %s/%s %s: %s", c, a.Watch, a.Rule, a.Subject, a.Summary))
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

// incidentFor finds the open incident of the alert's group, re-opens the
// alert's own resolved incident, or creates a new one.
func (p *Pipeline) incidentFor(ctx context.Context, a *vigie.Alert, at time.Time) (in vigie.Incident, reopened bool, err error) {
	s := p.o.Store
	raise := func(in *vigie.Incident) error {
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
	}
	in, err = s.OpenIncident(ctx, a.Group)
	if err == nil {
		updated, err := s.UpdateIncident(ctx, in.ID, raise)
		if errors.Is(err, store.ErrNoChange) {
			return in, false, nil
		}
		return updated, false, err
	}
	if !errors.Is(err, store.ErrNotFound) {
		return in, false, err
	}
	if a.IncidentID != 0 {
		old, err := s.Incident(ctx, a.IncidentID)
		if err == nil && old.State == vigie.IncidentResolved && old.Key == a.Group {
			in, err = s.UpdateIncident(ctx, old.ID, raise)
			return in, err == nil, err
		}
	}
	in, err = s.UpdateIncident(ctx, 0, func(in *vigie.Incident) error {
		in.Key, in.Title, in.Severity = a.Group, incidentTitle(a), a.Severity
		in.State, in.OpenedAt = vigie.IncidentOpen, at
		return nil
	})
	return in, false, err
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
	_, err := p.o.Store.AddTimeline(ctx, vigie.TimelineEntry{IncidentID: incident, Time: at, Kind: kind, Actor: "vigie", Text: text, AlertID: alertID})
	return err
}

func (p *Pipeline) enqueue(n notify.Notification) {
	if len(p.o.Notifiers) == 0 {
		return
	}
	select {
	case p.queue <- n:
	default:
		p.dropped.Inc()
		p.log.Error("notification queue full: dropped a notification (the alert is stored)", "alert", n.Alert.ID, "change", n.Change)
	}
}
