// Package alert turns findings into alerts and incidents: it de-duplicates
// findings by key, keeps each alert's state (firing, acknowledged,
// resolved), groups alerts into incidents with a timeline, persists all of
// it, and only then notifies.
package alert

import (
	"time"

	"github.com/vigie/vigie/internal/notify"
	"github.com/vigie/vigie/internal/vigie"
)

// change is what one finding did to its alert; "" means it only counted.
type change = notify.Change

const counted change = ""

// apply folds finding f into alert a (ID 0: a new one) and says what
// changed. ok is false when there is nothing to record: a "resolved"
// finding for an alert that is not active.
func apply(a *vigie.Alert, f *vigie.Finding, defaultResolveAfter time.Duration) (c change, ok bool) {
	if f.Resolved {
		if a.ID == 0 || !a.State.Active() {
			return counted, false
		}
		a.State = vigie.AlertResolved
		a.ResolvedAt = f.Time
		if f.Summary != "" {
			a.Summary = f.Summary
		}
		return notify.Resolved, true
	}
	if a.ID == 0 {
		a.Group, a.Watch, a.Rule, a.Subject = f.GroupKey(), f.Watch, f.Rule, f.Subject
		a.Severity, a.State = f.Severity, vigie.AlertFiring
		a.FirstSeen, a.LastSeen, a.Count = f.Time, f.Time, 1
		a.Summary, a.Evidence, a.Node = f.Summary, f.Evidence, f.Node
		a.ResolveAfter = f.ResolveAfter
		if a.ResolveAfter == 0 {
			a.ResolveAfter = defaultResolveAfter
		}
		return notify.Fired, true
	}
	a.Count++
	if f.Time.After(a.LastSeen) {
		a.LastSeen = f.Time
	}
	a.Summary, a.Evidence, a.Node = f.Summary, f.Evidence, f.Node
	if a.State == vigie.AlertResolved {
		// The same thing came back: fire again, keeping first-seen and the
		// count so the record shows it is a recurrence.
		a.State, a.ResolvedAt, a.AckedBy, a.AckedAt = vigie.AlertFiring, time.Time{}, "", time.Time{}
		a.Severity = f.Severity
		return notify.Refired, true
	}
	if f.Severity > a.Severity {
		a.Severity = f.Severity
		return notify.Escalated, true
	}
	return counted, true
}
