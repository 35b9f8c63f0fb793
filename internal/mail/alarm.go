package mail

import (
	"time"

	"github.com/vigie/vigie/internal/vigie"
)

// alarm is the firing state of one rule for one subject: it decides when
// a detector emits (on firing, on escalation, every repeat while firing)
// and when it resolves, so detectors only say whether the condition holds.
type alarm struct {
	Firing   bool           `json:"firing,omitempty"`
	Sev      vigie.Severity `json:"sev,omitempty"`
	LastEmit time.Time      `json:"last_emit"`
	Since    time.Time      `json:"since"`
}

type alarmStep int

const (
	stepNone alarmStep = iota
	stepEmit           // fire, escalate or refresh
	stepResolve
)

func (a *alarm) step(now time.Time, holds bool, sev vigie.Severity, repeat time.Duration) alarmStep {
	switch {
	case holds && !a.Firing:
		a.Firing, a.Sev, a.LastEmit, a.Since = true, sev, now, now
		return stepEmit
	case holds && (sev > a.Sev || now.Sub(a.LastEmit) >= repeat):
		if sev > a.Sev {
			a.Sev = sev
		}
		a.LastEmit = now
		return stepEmit
	case !holds && a.Firing:
		*a = alarm{}
		return stepResolve
	}
	return stepNone
}

// repeatEvery is how often a firing alert is refreshed with new evidence:
// the pipeline counts it and keeps it from resolving as stale.
const repeatEvery = 5 * time.Minute

// stale is the ResolveAfter of findings whose detector resolves them
// itself: a safety net for when vigie restarts in the middle of an alert
// and loses the detector's state.
const stale = 2 * time.Hour
