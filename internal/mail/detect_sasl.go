package mail

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/vigie"
)

// events is a sliding window of event times for one subject, capped so
// that a flood costs bounded memory.
type events struct {
	times []time.Time
	alarm alarm
}

func (e *events) trim(now time.Time, window time.Duration) {
	i := 0
	for i < len(e.times) && now.Sub(e.times[i]) >= window {
		i++
	}
	e.times = e.times[i:]
}

// failures is the brute-force rule for one kind of subject (client
// address or user name).
type failures struct {
	rule      string
	what      string // "address", "user name"
	threshold int
	window    time.Duration
	subjects  map[string]*events
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
	if len(e.times) < 4*f.threshold {
		e.times = append(e.times, now)
	}
	f.check(subject, e, now, ev)
}

func (f *failures) check(subject string, e *events, now time.Time, ev map[string]string) {
	n := len(e.times)
	sev := vigie.SeverityWarning
	if n >= 4*f.threshold {
		sev = vigie.SeverityCritical
	}
	switch e.alarm.step(now, n >= f.threshold, sev, repeatEvery) {
	case stepEmit:
		if ev == nil {
			ev = map[string]string{}
		}
		ev["failures"] = strconv.Itoa(n)
		ev["window"] = f.window.String()
		f.emit(vigie.Finding{Watch: WatchName, Rule: f.rule, Subject: subject, Severity: e.alarm.sev, Time: now,
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
		if e.alarm.firing {
			f.check(s, e, now, nil)
		}
		if len(e.times) == 0 && !e.alarm.firing {
			delete(f.subjects, s)
		}
	}
}

// manyIPs is the sasl-many-ips rule: one SASL user logged in from many
// client addresses in a short time (a password shared by a botnet).
type manyIPs struct {
	threshold int
	window    time.Duration
	users     map[string]*userIPs
	emit      func(vigie.Finding)
}

type userIPs struct {
	ips   map[string]time.Time
	alarm alarm
}

func (m *manyIPs) add(user, ip string, now time.Time) {
	if user == "" || ip == "" {
		return
	}
	u := m.users[user]
	if u == nil {
		u = &userIPs{ips: map[string]time.Time{}}
		m.users[strings.Clone(user)] = u
	}
	if _, ok := u.ips[ip]; ok || len(u.ips) < 4*m.threshold {
		if !ok {
			ip = strings.Clone(ip)
		}
		u.ips[ip] = now
	}
	m.check(user, u, now)
}

func (m *manyIPs) check(user string, u *userIPs, now time.Time) {
	for ip, t := range u.ips {
		if now.Sub(t) >= m.window {
			delete(u.ips, ip)
		}
	}
	n := len(u.ips)
	sev := vigie.SeverityWarning
	if n >= 2*m.threshold {
		sev = vigie.SeverityCritical
	}
	switch u.alarm.step(now, n >= m.threshold, sev, repeatEvery) {
	case stepEmit:
		ips := make([]string, 0, n)
		for ip := range u.ips {
			ips = append(ips, ip)
		}
		sort.Strings(ips)
		if len(ips) > 20 {
			ips = ips[:20]
		}
		m.emit(vigie.Finding{Watch: WatchName, Rule: RuleSASLManyIPs, Subject: user, Group: accountGroup(user), Severity: u.alarm.sev,
			Time: now, Summary: fmt.Sprintf("SASL user %s logged in from %d addresses in %s", user, n, m.window),
			Evidence:     map[string]string{"addresses": strconv.Itoa(n), "window": m.window.String(), "sample": strings.Join(ips, " ")},
			ResolveAfter: stale})
	case stepResolve:
		m.emit(vigie.Finding{Watch: WatchName, Rule: RuleSASLManyIPs, Subject: user, Group: accountGroup(user), Time: now, Resolved: true,
			Summary: fmt.Sprintf("SASL user %s is back to few addresses", user)})
	}
}

func (m *manyIPs) tick(now time.Time) {
	for user, u := range m.users {
		m.check(user, u, now)
		if len(u.ips) == 0 && !u.alarm.firing {
			delete(m.users, user)
		}
	}
}

func newSASL(cfg config.MailSASL, emit func(vigie.Finding)) (*failures, *failures, *manyIPs) {
	byIP := &failures{rule: RuleBruteForceIP, what: "address", threshold: cfg.FailuresPerIP, window: cfg.FailuresWindow,
		subjects: map[string]*events{}, emit: emit}
	byUser := &failures{rule: RuleBruteForceUser, what: "user name", threshold: cfg.FailuresPerUser, window: cfg.FailuresWindow,
		subjects: map[string]*events{}, emit: emit}
	ips := &manyIPs{threshold: cfg.ManyIPs, window: cfg.ManyIPsWindow, users: map[string]*userIPs{}, emit: emit}
	return byIP, byUser, ips
}
