package mail

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/vigie"
)

// The account-volume rule counts, per account (SASL user or "uid:N"),
// messages and recipients over the last minute, hour and day, and compares
// them with the account's habit: its busiest minute, hour and day over the
// last habit_days days, learned as it goes. A day on which the account's
// alert turned critical (a ceiling, or spam-like evidence: many recipient
// domains, bounces) is not learned; a warning-only day is, so a newsletter
// alerts the first time and is habit from then on. An account alerts above max(floor, habit_factor × habit),
// and always above a ceiling. Distinct recipient domains and bounces in
// the last hour raise the alert to critical.

const (
	mMsgs = iota
	mRcpts
)

const (
	wMinute = iota
	wHour
	wDay
)

var windowNames = [3]string{"minute", "hour", "day"}
var metricNames = [2]string{"messages", "recipients"}

type volCounts struct{ msgs, rcpts, bounces int32 }

type volSlot struct {
	idx int64
	c   volCounts
}

// DayPeak is an account's busiest minute, hour and day (messages and
// recipients) on one day: the unit of its habit.
type DayPeak struct {
	Day     int64       `json:"day"` // days since 1970-01-01 UTC
	Peak    [2][3]int32 `json:"peak"`
	Tainted bool        `json:"tainted,omitempty"` // it alerted that day: not habit
}

type account struct {
	mins     [61]volSlot // by minute
	hours    [25]volSlot // by hour
	habit    []DayPeak   // ring by day
	domains  [2]map[string]struct{}
	domHour  int64 // hour index of domains[0]
	lastSent time.Time
	alarm    alarm
	// What the account sent since its alert began (the window that
	// tripped it, then every message while it fires): the incident
	// report's "messages" and "recipients".
	sinceMsgs, sinceRcpts int64
	// What it sent after the finding that first detected it: the
	// attack the alert could have stopped.
	afterMsgs, afterRcpts int64
}

const maxDomains = 1000

type volume struct {
	cfg      config.MailVolume
	accounts map[string]*account
	emit     func(vigie.Finding)
}

func newVolume(cfg config.MailVolume, emit func(vigie.Finding)) *volume {
	return &volume{cfg: cfg, accounts: map[string]*account{}, emit: emit}
}

func (v *volume) account(name string) *account {
	a := v.accounts[name]
	if a == nil {
		a = &account{habit: make([]DayPeak, v.cfg.HabitDays+1)}
		v.accounts[strings.Clone(name)] = a
	}
	return a
}

func slotAdd(s []volSlot, idx int64, c volCounts) {
	p := &s[idx%int64(len(s))]
	if p.idx != idx {
		*p = volSlot{idx: idx}
	}
	p.c.msgs += c.msgs
	p.c.rcpts += c.rcpts
	p.c.bounces += c.bounces
}

// add counts a queued message of an account.
func (v *volume) add(name string, now time.Time, rcpts int) {
	a := v.account(name)
	if rcpts < 1 {
		rcpts = 1
	}
	c := volCounts{msgs: 1, rcpts: int32(min(rcpts, math.MaxInt32/2))}
	slotAdd(a.mins[:], now.Unix()/60, c)
	slotAdd(a.hours[:], now.Unix()/3600, c)
	a.lastSent = now
	if a.alarm.firing {
		a.sinceMsgs += int64(c.msgs)
		a.sinceRcpts += int64(c.rcpts)
		a.afterMsgs += int64(c.msgs)
		a.afterRcpts += int64(c.rcpts)
	}
	v.evaluate(name, a, now)
}

// bounce counts a bounced recipient of an account's message.
func (v *volume) bounce(name string, now time.Time) {
	a := v.accounts[name]
	if a == nil {
		return
	}
	slotAdd(a.mins[:], now.Unix()/60, volCounts{bounces: 1})
	slotAdd(a.hours[:], now.Unix()/3600, volCounts{bounces: 1})
}

// domain notes a recipient domain of an account's message.
func (v *volume) domain(name, domain string, now time.Time) {
	a := v.accounts[name]
	if a == nil || domain == "" {
		return
	}
	h := now.Unix() / 3600
	if a.domHour != h {
		if h == a.domHour+1 {
			a.domains[1] = a.domains[0]
		} else {
			a.domains[1] = nil
		}
		a.domains[0], a.domHour = nil, h
	}
	if a.domains[0] == nil {
		a.domains[0] = map[string]struct{}{}
	}
	if len(a.domains[0]) < maxDomains {
		if _, ok := a.domains[0][domain]; !ok {
			a.domains[0][strings.Clone(strings.ToLower(domain))] = struct{}{} // not a piece of the line
		}
	}
}

func (a *account) distinctDomains(now time.Time) int {
	h := now.Unix() / 3600
	if a.domHour != h && a.domHour != h-1 {
		return 0
	}
	cur, prev := a.domains[0], a.domains[1]
	if a.domHour == h-1 {
		cur, prev = nil, a.domains[0]
	}
	n := len(cur)
	for d := range prev {
		if _, ok := cur[d]; !ok {
			n++
		}
	}
	return n
}

// counts returns messages and recipients per window, and bounces in the
// last hour. The minute window slides: the previous minute counts for the
// part of it still within 60 s.
func (a *account) counts(now time.Time) (c [2][3]int64, bounces int64) {
	mi := now.Unix() / 60
	frac := float64(now.Unix()%60) / 60
	for _, s := range a.mins {
		switch {
		case s.idx == mi:
			c[mMsgs][wMinute] += int64(s.c.msgs)
			c[mRcpts][wMinute] += int64(s.c.rcpts)
		case s.idx == mi-1:
			c[mMsgs][wMinute] += int64(math.Round(float64(s.c.msgs) * (1 - frac)))
			c[mRcpts][wMinute] += int64(math.Round(float64(s.c.rcpts) * (1 - frac)))
		}
		if s.idx > mi-60 && s.idx <= mi {
			c[mMsgs][wHour] += int64(s.c.msgs)
			c[mRcpts][wHour] += int64(s.c.rcpts)
			bounces += int64(s.c.bounces)
		}
	}
	hi := now.Unix() / 3600
	for _, s := range a.hours {
		if s.idx > hi-24 && s.idx <= hi {
			c[mMsgs][wDay] += int64(s.c.msgs)
			c[mRcpts][wDay] += int64(s.c.rcpts)
		}
	}
	return c, bounces
}

func (v *volume) habitOf(a *account, today int64) (h [2][3]int64) {
	for _, d := range a.habit {
		if d.Tainted || d.Day >= today || d.Day < today-int64(v.cfg.HabitDays) || d.Day == 0 {
			continue
		}
		for m := range 2 {
			for w := range 3 {
				h[m][w] = max(h[m][w], int64(d.Peak[m][w]))
			}
		}
	}
	return h
}

func (v *volume) floors() [2][3]int64 {
	f, r := v.cfg.Messages, v.cfg.Recipients
	return [2][3]int64{{int64(f.Minute), int64(f.Hour), int64(f.Day)}, {int64(r.Minute), int64(r.Hour), int64(r.Day)}}
}

func (v *volume) ceilings() [2][3]int64 {
	f, r := v.cfg.MessagesCeiling, v.cfg.RecipientsCeiling
	return [2][3]int64{{int64(f.Minute), int64(f.Hour), int64(f.Day)}, {int64(r.Minute), int64(r.Hour), int64(r.Day)}}
}

// evaluate decides whether account name is above its limits now, learns
// its habit when it is not, and emits what changed.
func (v *volume) evaluate(name string, a *account, now time.Time) {
	c, bounces := a.counts(now)
	today := now.Unix() / 86400
	habit := v.habitOf(a, today)
	floors, ceilings := v.floors(), v.ceilings()
	calm := now.Sub(a.lastSent) >= v.cfg.Calm
	holds, crit := false, false
	var worst struct {
		ratio    float64
		m, w     int
		n, limit int64
	}
	for m := range 2 {
		for w := range 3 {
			if w > wMinute && calm {
				continue // only recent sending keeps a long window firing
			}
			limit := max(floors[m][w], int64(math.Ceil(v.cfg.HabitFactor*float64(habit[m][w]))))
			limit = min(limit, ceilings[m][w])
			if c[m][w] > limit {
				holds = true
				if c[m][w] > ceilings[m][w] {
					crit = true
				}
				if r := float64(c[m][w]) / float64(limit); r > worst.ratio {
					worst.ratio, worst.m, worst.w, worst.n, worst.limit = r, m, w, c[m][w], limit
				}
			}
		}
	}
	domains := a.distinctDomains(now)
	if holds && (domains >= v.cfg.Domains || bounces >= int64(v.cfg.Bounces)) {
		crit = true
	}
	v.learn(a, today, c)
	sev := vigie.SeverityWarning
	if crit {
		sev = vigie.SeverityCritical
	}
	wasFiring := a.alarm.firing
	switch a.alarm.step(now, holds, sev, repeatEvery) {
	case stepEmit:
		if !wasFiring {
			a.sinceMsgs, a.sinceRcpts = c[mMsgs][worst.w], c[mRcpts][worst.w]
			a.afterMsgs, a.afterRcpts = 0, 0
		}
		if a.alarm.sev == vigie.SeverityCritical {
			v.taint(a, today)
		}
		h := habit[worst.m][worst.w]
		summary := fmt.Sprintf("%s sent %d %s in the last %s, above its limit of %d (habit %d); %d recipient domains and %d bounces in the last hour",
			name, worst.n, metricNames[worst.m], windowNames[worst.w], worst.limit, h, domains, bounces)
		ev := map[string]string{
			"messages_minute": itoa(c[mMsgs][wMinute]), "messages_hour": itoa(c[mMsgs][wHour]), "messages_day": itoa(c[mMsgs][wDay]),
			"recipients_minute": itoa(c[mRcpts][wMinute]), "recipients_hour": itoa(c[mRcpts][wHour]), "recipients_day": itoa(c[mRcpts][wDay]),
			"domains_hour": strconv.Itoa(domains), "bounces_hour": itoa(bounces),
			"window": windowNames[worst.w], "limit": itoa(worst.limit), "habit": itoa(h),
			"since":          a.alarm.since.UTC().Format(time.RFC3339),
			EvidenceMessages: itoa(a.sinceMsgs), EvidenceRecipients: itoa(a.sinceRcpts),
			EvidenceMessagesAfterDetection: itoa(a.afterMsgs), EvidenceRecipientsAfterDetection: itoa(a.afterRcpts),
		}
		v.emit(vigie.Finding{Watch: WatchName, Rule: RuleAccountVolume, Subject: name, Group: accountGroup(name),
			Severity: a.alarm.sev, Time: now, Summary: summary, Evidence: ev, ResolveAfter: stale})
	case stepResolve:
		// The last word on what the account sent: the report counts up
		// to here, not to the last 5-minute repeat.
		ev := map[string]string{EvidenceMessages: itoa(a.sinceMsgs), EvidenceRecipients: itoa(a.sinceRcpts),
			EvidenceMessagesAfterDetection: itoa(a.afterMsgs), EvidenceRecipientsAfterDetection: itoa(a.afterRcpts)}
		v.emit(vigie.Finding{Watch: WatchName, Rule: RuleAccountVolume, Subject: name, Group: accountGroup(name), Time: now, Resolved: true,
			Evidence: ev, Summary: fmt.Sprintf("%s is back under its limits: %d messages in the last minute, %d in the last hour", name, c[mMsgs][wMinute], c[mMsgs][wHour])})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func (v *volume) day(a *account, today int64) *DayPeak {
	d := &a.habit[today%int64(len(a.habit))]
	if d.Day != today {
		*d = DayPeak{Day: today}
	}
	return d
}

func (v *volume) learn(a *account, today int64, c [2][3]int64) {
	d := v.day(a, today)
	if d.Tainted {
		return
	}
	for m := range 2 {
		for w := range 3 {
			d.Peak[m][w] = max(d.Peak[m][w], int32(min(c[m][w], math.MaxInt32)))
		}
	}
}

func (v *volume) taint(a *account, today int64) { v.day(a, today).Tainted = true }

// tick re-evaluates firing accounts (so that they resolve without new
// mail) and forgets accounts idle for longer than the habit memory.
func (v *volume) tick(now time.Time) {
	for name, a := range v.accounts {
		if a.alarm.firing {
			v.evaluate(name, a, now)
			continue
		}
		if now.Sub(a.lastSent) > time.Duration(v.cfg.HabitDays+1)*24*time.Hour {
			delete(v.accounts, name)
		}
	}
}

// samples returns, per account, its messages and recipients in each
// complete minute after minute from and before now's (at most the last
// hour).
func (v *volume) samples(from int64, now time.Time) []vigie.Sample {
	cur := now.Unix() / 60
	from = max(from, cur-60)
	var out []vigie.Sample
	for name, a := range v.accounts {
		for mi := from + 1; mi < cur; mi++ {
			s := a.mins[mi%int64(len(a.mins))]
			if s.idx != mi || s.c.msgs == 0 {
				continue
			}
			at := time.Unix(mi*60, 0).UTC()
			out = append(out, vigie.Sample{Series: SeriesAccountMessages, Subject: name, Time: at, Value: float64(s.c.msgs)},
				vigie.Sample{Series: SeriesAccountRecipients, Subject: name, Time: at, Value: float64(s.c.rcpts)})
		}
		if a.alarm.firing {
			// The running count between two repeats of the finding.
			out = append(out, vigie.Sample{Series: SeriesAccountAfterDetection, Subject: name, Time: now, Value: float64(a.afterMsgs)})
		}
	}
	return out
}

// Habits is the learned habit of every account, to save across restarts.
type Habits map[string][]DayPeak

func (v *volume) habits() Habits {
	out := Habits{}
	for name, a := range v.accounts {
		var days []DayPeak
		for _, d := range a.habit {
			if d.Day != 0 {
				days = append(days, d)
			}
		}
		if len(days) > 0 {
			out[name] = days
		}
	}
	return out
}

func (v *volume) restore(h Habits) {
	for name, days := range h {
		a := v.account(name)
		for _, d := range days {
			if d.Day <= 0 {
				continue
			}
			a.habit[d.Day%int64(len(a.habit))] = d
			if t := time.Unix(d.Day*86400, 0); t.After(a.lastSent) {
				a.lastSent = t // kept until habit_days after its last day
			}
		}
	}
}
