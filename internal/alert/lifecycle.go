package alert

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/notify"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
)

// audited runs fn at "now" and writes the audit entry for it, whatever
// the outcome: every admin action is in the audit log, failed ones too.
func (p *Pipeline) audited(ctx context.Context, actor, action, target, detail string, fn func(now time.Time) error) error {
	now := p.o.Now().UTC()
	err := fn(now)
	result := "ok"
	if err != nil {
		result = err.Error()
	}
	if _, aerr := p.o.Store.AddAudit(ctx, vigie.AuditEntry{Time: now, Actor: actor, Action: action, Target: target,
		Detail: detail, Result: result}); aerr != nil {
		err = errors.Join(err, aerr)
	}
	return err
}

func activeStates() []vigie.AlertState {
	return []vigie.AlertState{vigie.AlertFiring, vigie.AlertAcknowledged}
}

// AcknowledgeIncident records that actor is handling incident id: the
// incident and its firing alerts become acknowledged (who, when).
func (p *Pipeline) AcknowledgeIncident(ctx context.Context, id int64, actor string) (vigie.Incident, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	unlock, lerr := p.incidentLocks(ctx, id)
	if lerr != nil {
		return vigie.Incident{}, lerr
	}
	defer unlock()
	var out vigie.Incident
	err := p.audited(ctx, actor, vigie.ActionIncidentAcknowledge, fmt.Sprint(id), "", func(now time.Time) error {
		in, err := p.o.Store.UpdateIncident(ctx, id, func(in *vigie.Incident) error {
			if in.State != vigie.IncidentOpen {
				return fmt.Errorf("incident %d is %s, only an open incident can be acknowledged", id, in.State)
			}
			in.State, in.AckedBy, in.AckedAt = vigie.IncidentAcknowledged, actor, now
			return nil
		})
		if err != nil {
			return err
		}
		out = in
		alerts, err := p.o.Store.ListAlerts(ctx, store.AlertQuery{IncidentID: id, States: []vigie.AlertState{vigie.AlertFiring}, Limit: 100000})
		if err != nil {
			return err
		}
		for _, a := range alerts {
			if _, err := p.o.Store.UpdateAlert(ctx, a.Key, func(x *vigie.Alert) error {
				if x.State != vigie.AlertFiring {
					return store.ErrNoChange
				}
				x.State, x.AckedBy, x.AckedAt = vigie.AlertAcknowledged, actor, now
				return nil
			}); err != nil && !errors.Is(err, store.ErrNoChange) {
				return err
			}
		}
		return p.addTimeline(ctx, vigie.TimelineEntry{IncidentID: id, Time: now, Kind: vigie.TimelineState, Actor: actor,
			Text: fmt.Sprintf("acknowledged by %s (%d firing alerts)", actor, len(alerts))})
	})
	return out, err
}

// ResolveIncident closes incident id by hand: its active alerts are
// resolved with it (a finding that comes back fires them again and
// re-opens the incident), and the notifiers hear of the resolutions.
func (p *Pipeline) ResolveIncident(ctx context.Context, id int64, actor, note string) (vigie.Incident, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	unlock, lerr := p.incidentLocks(ctx, id)
	if lerr != nil {
		return vigie.Incident{}, lerr
	}
	defer unlock()
	var out vigie.Incident
	var resolved []vigie.Alert
	err := p.audited(ctx, actor, vigie.ActionIncidentResolve, fmt.Sprint(id), note, func(now time.Time) error {
		in, err := p.o.Store.Incident(ctx, id)
		if err != nil {
			return err
		}
		if in.State == vigie.IncidentResolved {
			return fmt.Errorf("incident %d is already resolved", id)
		}
		alerts, err := p.o.Store.ListAlerts(ctx, store.AlertQuery{IncidentID: id, States: activeStates(), Limit: 100000})
		if err != nil {
			return err
		}
		for _, a := range alerts {
			x, err := p.o.Store.UpdateAlertNotify(ctx, a.Key, func(x *vigie.Alert) error {
				if !x.State.Active() {
					return store.ErrNoChange
				}
				x.State, x.ResolvedAt = vigie.AlertResolved, now
				return nil
			}, p.outboxItems(notify.Resolved, now))
			if errors.Is(err, store.ErrNoChange) {
				continue
			}
			if err != nil {
				return err
			}
			resolved = append(resolved, x)
		}
		out, err = p.o.Store.UpdateIncident(ctx, id, func(in *vigie.Incident) error {
			in.State, in.ResolvedAt = vigie.IncidentResolved, now
			return nil
		})
		if err != nil {
			return err
		}
		text := fmt.Sprintf("resolved by %s (%d active alerts resolved with it)", actor, len(resolved))
		if note != "" {
			text += ": " + note
		}
		return p.addTimeline(ctx, vigie.TimelineEntry{IncidentID: id, Time: now, Kind: vigie.TimelineState, Actor: actor, Text: text})
	})
	for _, a := range resolved {
		p.wake(&a)
	}
	return out, err
}

// AddNote writes a person's note into the timeline of incident id.
func (p *Pipeline) AddNote(ctx context.Context, id int64, actor, text string) error {
	text = strings.TrimSpace(text)
	return p.audited(ctx, actor, vigie.ActionIncidentNote, fmt.Sprint(id), text, func(now time.Time) error {
		if text == "" {
			return errors.New("the note is empty")
		}
		if _, err := p.o.Store.Incident(ctx, id); err != nil {
			return err
		}
		return p.addTimeline(ctx, vigie.TimelineEntry{IncidentID: id, Time: now, Kind: vigie.TimelineNote, Actor: actor, Text: text})
	})
}

// An Action is something done about an incident: a hold, a purge, an
// approval, by a person or by vigie's own containment.
type Action struct {
	Time   time.Time // zero: now
	Actor  string    // "vigie" for automatic containment, else the person
	Name   string    // "mail.hold", "mail.purge", "dns.approve", ...
	Target string    // what it acted on: an account, a uid, a domain
	Detail string    // "held 412 messages"
	Err    error     // nil: it worked
	// Where it goes: the first of IncidentID, the incident of the alert
	// with key AlertKey, the incident of group Group (AccountGroup("alice")).
	IncidentID int64
	AlertKey   string
	Group      string
}

// Recorder is what a watch that acts (holds, purges) sees of the pipeline.
type Recorder interface {
	RecordAction(ctx context.Context, a Action) (incidentID int64, err error)
}

// RecordAction writes an action into the audit log and, when it finds the
// incident it belongs to, into that incident's timeline. It returns the
// incident (0 when none was found).
func (p *Pipeline) RecordAction(ctx context.Context, act Action) (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if act.Name == "" || act.Actor == "" {
		return 0, errors.New("record action: name and actor are required")
	}
	at := act.Time
	if at.IsZero() {
		at = p.o.Now()
	}
	at = at.UTC()
	result := "ok"
	if act.Err != nil {
		result = act.Err.Error()
	}
	if _, err := p.o.Store.AddAudit(ctx, vigie.AuditEntry{Time: at, Actor: act.Actor, Action: act.Name, Target: act.Target,
		Detail: act.Detail, Result: result}); err != nil {
		return 0, err
	}
	id, alertID, err := p.actionIncident(ctx, &act)
	if err != nil || id == 0 {
		return 0, err
	}
	text := act.Name + " " + act.Target
	if act.Detail != "" {
		text += ": " + act.Detail
	}
	if act.Err != nil {
		text += " (failed: " + act.Err.Error() + ")"
	}
	return id, p.addTimeline(ctx, vigie.TimelineEntry{IncidentID: id, Time: at, Kind: vigie.TimelineAction, Actor: act.Actor,
		Text: text, AlertID: alertID, Data: map[string]string{"action": act.Name, "target": act.Target, "result": result}})
}

func (p *Pipeline) actionIncident(ctx context.Context, act *Action) (incident, alertID int64, err error) {
	switch {
	case act.IncidentID != 0:
		_, err := p.o.Store.Incident(ctx, act.IncidentID)
		return act.IncidentID, 0, err
	case act.AlertKey != "":
		a, err := p.alertByKey(ctx, act.AlertKey)
		if errors.Is(err, store.ErrNotFound) {
			return 0, 0, nil
		}
		return a.IncidentID, a.ID, err
	case act.Group != "":
		in, err := p.openForGroup(ctx, act.Group)
		if errors.Is(err, store.ErrNotFound) {
			in, err = p.indexed(ctx, groupIndexKey(act.Group))
		}
		if errors.Is(err, store.ErrNotFound) {
			return 0, 0, nil
		}
		return in.ID, 0, err
	}
	return 0, 0, nil
}

// alertByKey reads an alert by key through UpdateAlert without changing it.
func (p *Pipeline) alertByKey(ctx context.Context, key string) (vigie.Alert, error) {
	var got vigie.Alert
	_, err := p.o.Store.UpdateAlert(ctx, key, func(a *vigie.Alert) error { got = *a; return store.ErrNoChange })
	if err != nil && !errors.Is(err, store.ErrNoChange) {
		return got, err
	}
	if got.ID == 0 {
		return got, store.ErrNotFound
	}
	return got, nil
}
