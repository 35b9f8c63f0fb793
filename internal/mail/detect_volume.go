package mail

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/mail/subject"
	"github.com/vigie/vigie/internal/vigie"
)

// The account-volume rule counts, per subject (SASL user, uid, trusted
// local SMTP client, and the server as a whole), messages and recipients
// over the last minute, hour and day, and compares them with the
// subject's habit: its busiest minute, hour and day (and its widest hour
// of recipient domains) over the last habit_days days. The model and why
// an attacker cannot teach it are in docs/mail-habits.md. In short:
//
//   - nothing is learned while an alert of the subject is open, nor from a
//     window that still holds mail of the alert's period;
//   - an alert's period is kept aside (pending) and learned only when an
//     admin marks it legitimate (MarkLegitimate);
//   - a slow sender is compared by pace: an hour busier than its busiest
//     day, spread over most of the hour, alerts;
//   - severity says how sure: critical needs a ceiling, or the limit
//     passed together with evidence of abuse (new recipient domains,
//     unknown-user bounces, remote refusals, logins from new networks).

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
var windowLen = [3]time.Duration{time.Minute, time.Hour, 24 * time.Hour}
var metricNames = [2]string{"messages", "recipients"}

// VolCounts are the messages, recipients and bad signs in one slot.
type VolCounts struct {
	Msgs    int32 `json:"m,omitempty"`
	Rcpts   int32 `json:"r,omitempty"`
	Bounces int32 `json:"b,omitempty"` // unknown-user bounces (5.1.x)
	Refused int32 `json:"x,omitempty"` // remote refusals and reputation deferrals
}

// VolSlot is one minute (or hour) of counts.
type VolSlot struct {
	Idx int64     `json:"i"`
	C   VolCounts `json:"c"`
}

// DayPeak is a subject's busiest minute, hour and day (messages and
// recipients) and widest hour of recipient domains on one day: the unit
// of its habit.
type DayPeak struct {
	Day     int64       `json:"day"` // days since 1970-01-01 UTC
	Peak    [2][3]int32 `json:"peak"`
	Domains int32       `json:"domains,omitempty"`
	// Tainted: an alert of the subject was open that day (from history:
	// a critical one): not habit until an admin marks it legitimate.
	Tainted bool `json:"tainted,omitempty"`
}

// Pending is an alert period kept aside: what the subject sent while its
// alert was open, learned only if an admin marks it legitimate.
type Pending struct {
	Since   time.Time   `json:"since"`
	Until   time.Time   `json:"until"` // zero while the alert is open
	Peak    [2][3]int32 `json:"peak"`
	Domains int32       `json:"domains"`
	NewDoms []string    `json:"new_domains,omitempty"` // capped
}

// SubjectState is everything the rule keeps about one subject; it is
// saved in the store across restarts.
type SubjectState struct {
	Mins     [61]VolSlot      `json:"mins"`
	Hours    [25]VolSlot      `json:"hours"`
	Fives    [13]VolSlot      `json:"fives"` // 5-minute slots, for the pace rule
	Habit    []DayPeak        `json:"habit"` // ring by day
	DomHour  int64            `json:"dom_hour"`
	Domains  [2][]string      `json:"domains"`           // recipient domains this hour and the previous one
	Known    map[string]int64 `json:"known,omitempty"`   // recipient domains learned, with their last day
	Senders  []string         `json:"senders,omitempty"` // envelope sender domains seen while firing (client subjects)
	LastSent time.Time        `json:"last_sent"`
	Alarm    alarm            `json:"alarm"`
	// Quiet is when its last alert closed: windows reaching back before
	// it are not learned.
	Quiet   time.Time `json:"quiet"`
	Pending []Pending `json:"pending,omitempty"`
	// What it sent since its alert began: the incident report's counts.
	SinceMsgs  int64 `json:"since_msgs,omitempty"`
	SinceRcpts int64 `json:"since_rcpts,omitempty"`
	// What it sent after the finding that first detected it: the attack
	// the alert could have stopped (the report's exact count).
	AfterMsgs  int64 `json:"after_msgs,omitempty"`
	AfterRcpts int64 `json:"after_rcpts,omitempty"`
	// NewNets: logins from networks new to it, last hour (SASL users).
	NewNetAt time.Time `json:"new_net_at"`
	// LegitDay: an admin marked its alert legitimate while it was open
	// (the mailing still going): the rest of that day is its habit.
	LegitDay int64 `json:"legit_day,omitempty"`
}

const (
	maxDomains   = 1000
	maxKnown     = 5000
	maxPending   = 8
	maxNewDoms   = 200
	maxSenders   = 20
	serverFactor = 5 // the server's floors are this many times a subject's
)

type volume struct {
	cfg      config.MailVolume
	subjects map[string]*SubjectState
	emit     func(vigie.Finding)
	learnAll bool // learning from history: learn what is not critical
}

func newVolume(cfg config.MailVolume, emit func(vigie.Finding)) *volume {
	return &volume{cfg: cfg, subjects: map[string]*SubjectState{}, emit: emit}
}

func (v *volume) subject(name string) *SubjectState {
	a := v.subjects[name]
	if a == nil {
		a = &SubjectState{Habit: make([]DayPeak, v.cfg.HabitDays+1)}
		v.subjects[strings.Clone(name)] = a
	}
	if len(a.Habit) != v.cfg.HabitDays+1 { // restored with another habit_days
		h := make([]DayPeak, v.cfg.HabitDays+1)
		for _, d := range a.Habit {
			if d.Day > 0 {
				h[d.Day%int64(len(h))] = d
			}
		}
		a.Habit = h
	}
	return a
}

func slotAdd(s []VolSlot, idx int64, c VolCounts) {
	p := &s[idx%int64(len(s))]
	if p.Idx != idx {
		*p = VolSlot{Idx: idx}
	}
	p.C.Msgs += c.Msgs
	p.C.Rcpts += c.Rcpts
	p.C.Bounces += c.Bounces
	p.C.Refused += c.Refused
}

func (a *SubjectState) addCounts(now time.Time, c VolCounts) {
	slotAdd(a.Mins[:], now.Unix()/60, c)
	slotAdd(a.Hours[:], now.Unix()/3600, c)
	slotAdd(a.Fives[:], now.Unix()/300, c)
}

// add counts a queued message of a subject. sender is the envelope
// sender (kept as evidence for a client subject, which may forge any).
func (v *volume) add(name string, now time.Time, rcpts int, sender string) {
	a := v.subject(name)
	if rcpts < 1 {
		rcpts = 1
	}
	c := VolCounts{Msgs: 1, Rcpts: int32(min(rcpts, math.MaxInt32/2))}
	a.addCounts(now, c)
	a.LastSent = now
	if a.Alarm.Firing {
		a.SinceMsgs += int64(c.Msgs)
		a.SinceRcpts += int64(c.Rcpts)
		a.AfterMsgs += int64(c.Msgs)
		a.AfterRcpts += int64(c.Rcpts)
	}
	if strings.HasPrefix(name, "client:") && sender != "" && len(a.Senders) < maxSenders {
		d := strings.ToLower(sender[strings.LastIndexByte(sender, '@')+1:])
		found := false
		for _, s := range a.Senders {
			found = found || s == d
		}
		if !found {
			a.Senders = append(a.Senders, d)
		}
	}
	v.evaluate(name, a, now)
}

// bounce counts an unknown-user bounce of a subject's message; refused a
// remote refusal or a reputation deferral (S3150, TSS04, blocked using).
func (v *volume) bad(name string, now time.Time, c VolCounts) {
	if a := v.subjects[name]; a != nil {
		a.addCounts(now, c)
	}
}

// loginFromNewNetwork notes that a SASL user logged in from a network new
// to it: evidence that makes its volume alert critical.
func (v *volume) loginFromNewNetwork(name string, now time.Time) {
	v.subject(name).NewNetAt = now
}

// domain notes a recipient domain of a subject's message.
func (v *volume) domain(name, domain string, now time.Time) {
	a := v.subjects[name]
	if a == nil || domain == "" {
		return
	}
	domain = strings.ToLower(domain)
	h := now.Unix() / 3600
	if a.DomHour != h {
		if h == a.DomHour+1 {
			a.Domains[1] = a.Domains[0]
		} else {
			a.Domains[1] = nil
		}
		a.Domains[0], a.DomHour = nil, h
	}
	for _, d := range a.Domains[0] {
		if d == domain {
			return
		}
	}
	if len(a.Domains[0]) < maxDomains {
		a.Domains[0] = append(a.Domains[0], strings.Clone(domain))
	}
	if a.Alarm.Firing && len(a.Pending) > 0 {
		p := &a.Pending[len(a.Pending)-1]
		if _, known := a.Known[domain]; !known && len(p.NewDoms) < maxNewDoms {
			p.NewDoms = append(p.NewDoms, strings.Clone(domain))
		}
	}
}

// hourDomains returns the distinct recipient domains of the last hour
// (this clock hour and the previous one) and how many of them the
// subject never sent to before.
func (a *SubjectState) hourDomains(now time.Time) (all, unknown int) {
	h := now.Unix() / 3600
	var cur, prev []string
	switch a.DomHour {
	case h:
		cur, prev = a.Domains[0], a.Domains[1]
	case h - 1:
		prev = a.Domains[0]
	default:
		return 0, 0
	}
	seen := map[string]bool{}
	for _, l := range [][]string{cur, prev} {
		for _, d := range l {
			if !seen[d] {
				seen[d] = true
				if _, ok := a.Known[d]; !ok {
					unknown++
				}
			}
		}
	}
	return len(seen), unknown
}

// counts returns messages and recipients per window, unknown-user
// bounces and refusals in the last hour, and the 5-minute slots of the
// last hour that saw mail. The minute window slides: the previous minute
// counts for the part of it still within 60 s.
func (a *SubjectState) counts(now time.Time) (c [2][3]int64, bounces, refused int64, active int) {
	mi := now.Unix() / 60
	frac := float64(now.Unix()%60) / 60
	for _, s := range a.Mins {
		switch {
		case s.Idx == mi:
			c[mMsgs][wMinute] += int64(s.C.Msgs)
			c[mRcpts][wMinute] += int64(s.C.Rcpts)
		case s.Idx == mi-1:
			c[mMsgs][wMinute] += int64(math.Round(float64(s.C.Msgs) * (1 - frac)))
			c[mRcpts][wMinute] += int64(math.Round(float64(s.C.Rcpts) * (1 - frac)))
		}
		if s.Idx > mi-60 && s.Idx <= mi {
			c[mMsgs][wHour] += int64(s.C.Msgs)
			c[mRcpts][wHour] += int64(s.C.Rcpts)
			bounces += int64(s.C.Bounces)
			refused += int64(s.C.Refused)
		}
	}
	hi := now.Unix() / 3600
	for _, s := range a.Hours {
		if s.Idx > hi-24 && s.Idx <= hi {
			c[mMsgs][wDay] += int64(s.C.Msgs)
			c[mRcpts][wDay] += int64(s.C.Rcpts)
		}
	}
	fi := now.Unix() / 300
	for _, s := range a.Fives {
		if s.Idx > fi-12 && s.Idx <= fi && s.C.Msgs > 0 {
			active++
		}
	}
	return c, bounces, refused, active
}

func (v *volume) habitOf(a *SubjectState, today int64) (h [2][3]int64, domains int64) {
	for _, d := range a.Habit {
		if d.Tainted || d.Day >= today || d.Day < today-int64(v.cfg.HabitDays) || d.Day == 0 {
			continue
		}
		for m := range 2 {
			for w := range 3 {
				h[m][w] = max(h[m][w], int64(d.Peak[m][w]))
			}
		}
		domains = max(domains, int64(d.Domains))
	}
	return h, domains
}

func (v *volume) floors(server bool) [2][3]int64 {
	f, r := v.cfg.Messages, v.cfg.Recipients
	k := int64(1)
	if server {
		k = serverFactor
	}
	return [2][3]int64{{k * int64(f.Minute), k * int64(f.Hour), k * int64(f.Day)}, {k * int64(r.Minute), k * int64(r.Hour), k * int64(r.Day)}}
}

func (v *volume) ceilings(server bool) [2][3]int64 {
	f, r := v.cfg.MessagesCeiling, v.cfg.RecipientsCeiling
	k := int64(1)
	if server {
		k = serverFactor
	}
	return [2][3]int64{{k * int64(f.Minute), k * int64(f.Hour), k * int64(f.Day)}, {k * int64(r.Minute), k * int64(r.Hour), k * int64(r.Day)}}
}

var serverName = subject.Server().String()

func (v *volume) firing(name string) bool {
	a := v.subjects[name]
	return a != nil && a.Alarm.Firing
}

// anyFiring: some subject other than the server is alerting (the server's
// alert adds nothing then: the subject's says who).
func (v *volume) anyFiring() bool {
	for name, a := range v.subjects {
		if name != serverName && a.Alarm.Firing {
			return true
		}
	}
	return false
}

// evaluate decides whether subject name is above its limits now, learns
// its habit when it may, and emits what changed.
func (v *volume) evaluate(name string, a *SubjectState, now time.Time) {
	server := name == serverName
	c, bounces, refused, active := a.counts(now)
	today := now.Unix() / 86400
	habit, habitDomains := v.habitOf(a, today)
	floors, ceilings := v.floors(server), v.ceilings(server)
	calm := now.Sub(a.LastSent) >= v.cfg.Calm
	holds, overCeiling := false, false
	var worst struct {
		ratio    float64
		m, w     int
		n, limit int64
		pace     bool
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
					overCeiling = true
				}
				if r := float64(c[m][w]) / float64(limit); r > worst.ratio {
					worst.ratio, worst.m, worst.w, worst.n, worst.limit = r, m, w, c[m][w], limit
				}
			}
		}
	}
	// Pace: an hour busier than its busiest day (and than habit_factor
	// times its busiest hour), spread over most of the hour: a slow,
	// steady sender that no window floor catches for hours.
	if !calm && !server {
		paceLimit := max(int64(v.cfg.PaceMessages), habit[mMsgs][wDay], int64(math.Ceil(v.cfg.HabitFactor*float64(habit[mMsgs][wHour]))))
		if c[mMsgs][wHour] > paceLimit && active >= v.cfg.PaceSlots {
			holds = true
			if r := float64(c[mMsgs][wHour]) / float64(paceLimit); worst.ratio == 0 || r > worst.ratio {
				worst.ratio, worst.m, worst.w, worst.n, worst.limit, worst.pace = r, mMsgs, wHour, c[mMsgs][wHour], paceLimit, true
			}
		}
	}
	if server && holds && v.anyFiring() {
		holds = false
	}
	if a.LegitDay == today {
		holds = false // an admin said today's mailing is legitimate
	}
	domains, newDomains := a.hourDomains(now)
	newNet := !a.NewNetAt.IsZero() && now.Sub(a.NewNetAt) < time.Hour
	// How sure: a ceiling, or far above its habit with a sign of abuse.
	signs := []string{}
	if newDomains >= v.cfg.Domains && int64(domains) > 2*habitDomains {
		signs = append(signs, fmt.Sprintf("%d recipient domains it never sent to", newDomains))
	}
	if bounces >= int64(v.cfg.Bounces) {
		signs = append(signs, fmt.Sprintf("%d unknown-user bounces", bounces))
	}
	if refused > 0 {
		signs = append(signs, fmt.Sprintf("%d refusals or reputation deferrals by receiving servers", refused))
	}
	if newNet {
		signs = append(signs, "logins from networks new to it")
	}
	crit := overCeiling || (holds && len(signs) > 0)
	sev := vigie.SeverityWarning
	if crit {
		sev = vigie.SeverityCritical
	}
	wasFiring := a.Alarm.Firing
	step := a.Alarm.step(now, holds, sev, repeatEvery)
	if a.Alarm.Firing {
		if !wasFiring {
			a.Pending = append(a.Pending, Pending{Since: now})
			if len(a.Pending) > maxPending {
				a.Pending = a.Pending[len(a.Pending)-maxPending:]
			}
		}
		p := &a.Pending[len(a.Pending)-1]
		for m := range 2 {
			for w := range 3 {
				p.Peak[m][w] = max(p.Peak[m][w], int32(min(c[m][w], math.MaxInt32)))
			}
		}
		p.Domains = max(p.Domains, int32(domains))
		// A day with an alert open is not habit (from history: a day
		// with a critical one), unless an admin marks it legitimate.
		if !v.learnAll || crit {
			v.day(a, today).Tainted = true
		}
	}
	v.learn(a, today, c, domains, now, !a.Alarm.Firing || (v.learnAll && !crit))
	switch step {
	case stepEmit:
		if !wasFiring {
			a.SinceMsgs, a.SinceRcpts = c[mMsgs][worst.w], c[mRcpts][worst.w]
			a.AfterMsgs, a.AfterRcpts = 0, 0
		}
		h := habit[worst.m][worst.w]
		what := fmt.Sprintf("%d %s in the last %s, above its limit of %d (habit %d)", worst.n, metricNames[worst.m], windowNames[worst.w], worst.limit, h)
		if worst.pace {
			what = fmt.Sprintf("%d messages in the last hour, spread over %d of its 5-minute slots: more than its busiest day (%d) at a steady pace", worst.n, active, habit[mMsgs][wDay])
		}
		summary := fmt.Sprintf("%s sent %s; %d recipient domains in the last hour (%d new to it)", name, what, domains, newDomains)
		if len(signs) > 0 {
			summary += "; " + strings.Join(signs, ", ")
		}
		ev := map[string]string{
			"messages_minute": itoa(c[mMsgs][wMinute]), "messages_hour": itoa(c[mMsgs][wHour]), "messages_day": itoa(c[mMsgs][wDay]),
			"recipients_minute": itoa(c[mRcpts][wMinute]), "recipients_hour": itoa(c[mRcpts][wHour]), "recipients_day": itoa(c[mRcpts][wDay]),
			"domains_hour": strconv.Itoa(domains), "new_domains_hour": strconv.Itoa(newDomains), "bounces_hour": itoa(bounces),
			"refusals_hour": itoa(refused),
			"window":        windowNames[worst.w], "limit": itoa(worst.limit), "habit": itoa(h),
			"since":          a.Alarm.Since.UTC().Format(time.RFC3339),
			EvidenceMessages: itoa(a.SinceMsgs), EvidenceRecipients: itoa(a.SinceRcpts),
			EvidenceMessagesAfterDetection: itoa(a.AfterMsgs), EvidenceRecipientsAfterDetection: itoa(a.AfterRcpts),
			"kind": subjectKind(name),
		}
		if worst.pace {
			ev["window"] = "pace"
			ev["active_slots"] = strconv.Itoa(active)
		}
		if len(a.Senders) > 0 {
			ev["sender_domains"] = strings.Join(a.Senders, " ")
		}
		v.emit(vigie.Finding{Watch: WatchName, Rule: string(RuleAccountVolume), Subject: name, Group: accountGroup(name),
			Severity: a.Alarm.Sev, Time: now, Summary: summary, Evidence: ev, ResolveAfter: stale})
	case stepResolve:
		if n := len(a.Pending); n > 0 {
			a.Pending[n-1].Until = now
		}
		a.Quiet = now
		a.Senders = nil
		// The last word on what the subject sent: the report counts up
		// to here, not to the last 5-minute repeat.
		ev := map[string]string{EvidenceMessages: itoa(a.SinceMsgs), EvidenceRecipients: itoa(a.SinceRcpts),
			EvidenceMessagesAfterDetection: itoa(a.AfterMsgs), EvidenceRecipientsAfterDetection: itoa(a.AfterRcpts)}
		v.emit(vigie.Finding{Watch: WatchName, Rule: string(RuleAccountVolume), Subject: name, Group: accountGroup(name), Time: now, Resolved: true,
			Evidence: ev, Summary: fmt.Sprintf("%s is back under its limits: %d messages in the last minute, %d in the last hour", name, c[mMsgs][wMinute], c[mMsgs][wHour])})
	}
}

func subjectKind(name string) string {
	s, err := subject.Parse(name)
	if err != nil {
		return "none"
	}
	return s.Kind.String()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func (v *volume) day(a *SubjectState, today int64) *DayPeak {
	d := &a.Habit[today%int64(len(a.Habit))]
	if d.Day != today {
		*d = DayPeak{Day: today}
	}
	return d
}

// learn folds the current windows into today's peaks, except windows that
// reach back into the subject's last alert period (they still hold its
// mail), and, when knowDomains, the recipient domains of the hour into
// what it knows. A tainted day keeps its peaks (learned if an admin marks
// its alert legitimate) but habitOf skips it. Today is never part of the
// habit it is compared with, so a climbing sender cannot raise its own
// limit the same day.
func (v *volume) learn(a *SubjectState, today int64, c [2][3]int64, domains int, now time.Time, knowDomains bool) {
	d := v.day(a, today)
	for w := range 3 {
		if !a.Quiet.IsZero() && now.Sub(a.Quiet) < windowLen[w] && !v.learnAll {
			continue
		}
		for m := range 2 {
			d.Peak[m][w] = max(d.Peak[m][w], int32(min(c[m][w], math.MaxInt32)))
		}
	}
	if a.Quiet.IsZero() || now.Sub(a.Quiet) >= time.Hour || v.learnAll {
		d.Domains = max(d.Domains, int32(domains))
		if knowDomains && a.DomHour == now.Unix()/3600 {
			for _, dom := range a.Domains[0] {
				v.know(a, dom, today)
			}
		}
	}
}

func (v *volume) know(a *SubjectState, dom string, today int64) {
	if a.Known == nil {
		a.Known = map[string]int64{}
	}
	if _, ok := a.Known[dom]; ok || len(a.Known) < maxKnown {
		a.Known[dom] = today
	}
}

// markLegitimate learns the alert periods of subject name that overlap
// [from, to]: an admin said the mail was the subject's own (a newsletter).
// An alert still open is learned as it stands, so it resolves. It
// returns how many periods it learned.
func (v *volume) markLegitimate(name string, from, to time.Time, now time.Time) int {
	a := v.subjects[name]
	if a == nil {
		return 0
	}
	n := 0
	keep := a.Pending[:0]
	for _, p := range a.Pending {
		end := p.Until
		if end.IsZero() {
			end = now
		}
		if end.Before(from.Add(-time.Minute)) || p.Since.After(to.Add(time.Minute)) {
			keep = append(keep, p)
			continue
		}
		n++
		for d := p.Since.Unix() / 86400; d <= end.Unix()/86400; d++ {
			if dp := &a.Habit[d%int64(len(a.Habit))]; dp.Day == d {
				dp.Tainted = false
			}
		}
		day := v.day(a, p.Since.Unix()/86400)
		for m := range 2 {
			for w := range 3 {
				day.Peak[m][w] = max(day.Peak[m][w], p.Peak[m][w])
			}
		}
		day.Domains = max(day.Domains, p.Domains)
		for _, d := range p.NewDoms {
			v.know(a, d, day.Day)
		}
		// The server's habit grows by as much.
		if name != serverName {
			s := v.subject(serverName)
			sd := v.day(s, day.Day)
			for m := range 2 {
				for w := range 3 {
					sd.Peak[m][w] = max(sd.Peak[m][w], min(sd.Peak[m][w]+p.Peak[m][w], math.MaxInt32/2))
				}
			}
		}
	}
	a.Pending = keep
	if n > 0 && a.Alarm.Firing {
		// Marked while still open: the mailing goes on; today is habit,
		// and the alert closes (the admin resolved its incident).
		a.LegitDay = now.Unix() / 86400
		v.day(a, a.LegitDay).Tainted = false
		v.evaluate(name, a, now)
	}
	return n
}

// tick re-evaluates firing subjects (so that they resolve without new
// mail) and forgets subjects idle for longer than the habit memory.
func (v *volume) tick(now time.Time) {
	for name, a := range v.subjects {
		if a.Alarm.Firing {
			v.evaluate(name, a, now)
			continue
		}
		if now.Sub(a.LastSent) > time.Duration(v.cfg.HabitDays+1)*24*time.Hour {
			delete(v.subjects, name)
		}
	}
}

// samples returns, per subject, its messages and recipients in each
// complete minute after minute from and before now's (at most the last
// hour).
func (v *volume) samples(from int64, now time.Time) []vigie.Sample {
	cur := now.Unix() / 60
	from = max(from, cur-60)
	var out []vigie.Sample
	for name, a := range v.subjects {
		for mi := from + 1; mi < cur; mi++ {
			s := a.Mins[mi%int64(len(a.Mins))]
			if s.Idx != mi || s.C.Msgs == 0 {
				continue
			}
			at := time.Unix(mi*60, 0).UTC()
			out = append(out, vigie.Sample{Series: string(SeriesAccountMessages), Subject: name, Time: at, Value: float64(s.C.Msgs)},
				vigie.Sample{Series: string(SeriesAccountRecipients), Subject: name, Time: at, Value: float64(s.C.Rcpts)})
		}
		if a.Alarm.Firing {
			// The running count between two repeats of the finding.
			out = append(out, vigie.Sample{Series: string(SeriesAccountAfterDetection), Subject: name, Time: now, Value: float64(a.AfterMsgs)})
		}
	}
	return out
}

// Habits is the learned habit of every subject, to save across restarts.
type Habits map[string][]DayPeak

func (v *volume) habits() Habits {
	out := Habits{}
	for name, a := range v.subjects {
		var days []DayPeak
		for _, d := range a.Habit {
			if d.Day != 0 {
				days = append(days, d)
			}
		}
		sort.Slice(days, func(i, j int) bool { return days[i].Day < days[j].Day })
		if len(days) > 0 {
			out[name] = days
		}
	}
	return out
}

func (v *volume) restore(h Habits) {
	for name, days := range h {
		a := v.subject(name)
		for _, d := range days {
			if d.Day <= 0 {
				continue
			}
			a.Habit[d.Day%int64(len(a.Habit))] = d
			if t := time.Unix(d.Day*86400, 0); t.After(a.LastSent) {
				a.LastSent = t // kept until habit_days after its last day
			}
		}
	}
}
