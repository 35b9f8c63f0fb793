package mail

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/vigie"
)

// events is a sliding window of event times for one subject, capped so
// that a flood costs bounded memory.
type events struct {
	Times []time.Time `json:"times"`
	Alarm alarm       `json:"alarm"`
}

func (e *events) trim(now time.Time, window time.Duration) {
	i := 0
	for i < len(e.Times) && now.Sub(e.Times[i]) >= window {
		i++
	}
	e.Times = e.Times[i:]
}

// failures is the brute-force rule for one kind of subject (client
// address or user name).
type failures struct {
	rule      string
	what      string // "address", "user name"
	threshold int
	window    time.Duration
	subjects  map[string]*events // saved across restarts
	emit      func(vigie.Finding)
}

func (f *failures) add(subject string, now time.Time, ev map[string]string) {
	if subject == "" {
		return
	}
	e := f.subjects[subject]
	if e == nil {
		e = &events{}
		f.subjects[strings.Clone(subject)] = e
	}
	e.trim(now, f.window)
	if len(e.Times) < 4*f.threshold {
		e.Times = append(e.Times, now)
	}
	f.check(subject, e, now, ev)
}

func (f *failures) check(subject string, e *events, now time.Time, ev map[string]string) {
	n := len(e.Times)
	sev := vigie.SeverityWarning
	if n >= 4*f.threshold {
		sev = vigie.SeverityCritical
	}
	switch e.Alarm.step(now, n >= f.threshold, sev, repeatEvery) {
	case stepEmit:
		if ev == nil {
			ev = map[string]string{}
		}
		ev["failures"] = strconv.Itoa(n)
		ev["window"] = f.window.String()
		f.emit(vigie.Finding{Watch: WatchName, Rule: f.rule, Subject: subject, Severity: e.Alarm.Sev, Time: now,
			Summary:  fmt.Sprintf("%d SASL authentication failures for %s %s in %s", n, f.what, subject, f.window),
			Evidence: ev, ResolveAfter: stale})
	case stepResolve:
		f.emit(vigie.Finding{Watch: WatchName, Rule: f.rule, Subject: subject, Time: now, Resolved: true,
			Summary: fmt.Sprintf("SASL failures for %s %s stopped", f.what, subject)})
	}
}

func (f *failures) tick(now time.Time) {
	for s, e := range f.subjects {
		e.trim(now, f.window)
		if e.Alarm.Firing {
			f.check(s, e, now, nil)
		}
		if len(e.Times) == 0 && !e.Alarm.Firing {
			delete(f.subjects, s)
		}
	}
}

func newSASL(cfg config.MailSASL, emit func(vigie.Finding)) (byIP, byUser, byNet *failures, nets *loginNetworks) {
	byIP = &failures{rule: string(RuleBruteForceIP), what: "address", threshold: cfg.FailuresPerIP, window: cfg.FailuresWindow,
		subjects: map[string]*events{}, emit: emit}
	byUser = &failures{rule: string(RuleBruteForceUser), what: "user name", threshold: cfg.FailuresPerUser, window: cfg.FailuresWindow,
		subjects: map[string]*events{}, emit: emit}
	byNet = &failures{rule: string(RuleBruteForceNet), what: "network", threshold: cfg.FailuresPerNetwork, window: cfg.FailuresNetworkWindow,
		subjects: map[string]*events{}, emit: emit}
	nets = &loginNetworks{cfg: cfg, users: map[string]*UserNetworks{}, emit: emit}
	return byIP, byUser, byNet, nets
}
