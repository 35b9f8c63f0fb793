// Package incident writes what an incident report is made of, from what
// vigie recorded as it happened: the summary, the impact (accounts,
// domains, messages, certificates, blocklistings), the exposure window,
// the timeline, the actions taken and what remains to do; for a DNS
// incident, the revert plan and the certificates issued in its window.
package incident

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/mail"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
)

// Report is one incident, ready to be rendered.
type Report struct {
	Incident    vigie.Incident
	GeneratedAt time.Time
	Alerts      []vigie.Alert // oldest first
	Timeline    []vigie.TimelineEntry
	FirstSeen   time.Time // the earliest first-seen of its alerts
	LastSeen    time.Time // the latest last-seen
	Exposure    Exposure
	Impact      Impact
	Actions     []vigie.TimelineEntry // the timeline's actions
	RevertPlan  []Revert              // DNS incidents
	// Certificates issued in the exposure window (DNS incidents).
	CertificatesInWindow []Certificate
	// Story is the incident told by kind: what the page and the report
	// open with.
	Story Story
	// Checklist is the response, step by step, ticked from the audit log.
	Checklist []Step
	// light: the story from the alerts alone (their latest evidence), for
	// the headlines of a list of incidents.
	light bool
}

// Exposure is the window during which the attack had effect: from the
// first sighting to the resolution (or now, still open), extended for DNS
// by the longest TTL, during which resolvers may still serve the bad data.
type Exposure struct {
	Start   time.Time
	End     time.Time // resolution, or zero while open
	Ongoing bool
	MaxTTL  time.Duration // DNS: the largest TTL of the changed records
	// CachedUntil is End + MaxTTL: when the last cached bad answer expires.
	CachedUntil time.Time
}

// Impact is what the incident touched.
type Impact struct {
	Accounts      []Account
	Domains       []string
	Changes       []Change // DNS records moved away from the baseline
	Sites         []string
	Installs      []Site   // the web applications behind Sites
	Attacks       []Attack // web requests that tried to exploit them
	Certificates  []Certificate
	Blocklistings []Listing
	Messages      int64 // reported by mail findings
	Recipients    int64
}

// Account is a mail account or local uid and what it sent.
type Account struct {
	Name       string
	Messages   int64 // since its alert began, the tripping window included
	Recipients int64
	// After the finding that first detected it: exact, from the mail
	// watch's counts (the last finding, the running count it stores
	// between repeats, and the final one when the alert resolves).
	AfterMessages, AfterRecipients int64
	AfterKnown                     bool      // the watch reported them
	Detected                       time.Time // its first account-volume finding
	LastSeen                       time.Time
	Bounces                        int64 // in the hour before its latest finding
	Firing                         bool  // its alert is still active: counts still grow
	// Its habit and the limit its detection compared with, per minute.
	HabitPerMinute, LimitPerMinute float64
	ResolvedAt                     time.Time
}

// Certificate is a ct alert's certificate.
type Certificate struct {
	Subject  string // what the ct watch calls it (serial, fingerprint)
	Names    string
	Issuer   string
	Seen     time.Time
	NotAfter string
	State    vigie.AlertState
	InWindow bool
}

// Listing is a blocklisting.
type Listing struct {
	Target, List string
	State        vigie.AlertState
	Since        time.Time
	AlertID      int64
	Name         string // the list's full name ("Microsoft (Outlook.com, ...)")
	RaisedBy     string // the watch that saw it: blocklist (DNSBL) or mail (a refusal)
	DelistURL    string
	DelistSteps  []string
	Refusals     int64 // remote refusals counted by the mail watch
	LastSeen     time.Time
}

// Revert is one line of a DNS revert plan.
type Revert struct {
	Domain   string
	Rule     string
	Observed string
	Expected string
	Done     bool // the alert is resolved: reverted or approved
}

// Build reads incident id from s and assembles its report as of now.
func Build(ctx context.Context, s store.Store, id int64, now time.Time) (*Report, error) {
	in, err := s.Incident(ctx, id)
	if err != nil {
		return nil, err
	}
	alerts, err := s.ListAlerts(ctx, store.AlertQuery{IncidentID: id, Limit: 1000000})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(alerts, func(i, j int) bool {
		if !alerts[i].FirstSeen.Equal(alerts[j].FirstSeen) {
			return alerts[i].FirstSeen.Before(alerts[j].FirstSeen)
		}
		return alerts[i].ID < alerts[j].ID
	})
	tl, err := s.Timeline(ctx, id)
	if err != nil {
		return nil, err
	}
	r := &Report{Incident: in, GeneratedAt: now.UTC(), Alerts: alerts, Timeline: tl}
	for _, e := range tl {
		if e.Kind == vigie.TimelineAction {
			r.Actions = append(r.Actions, e)
		}
	}
	for _, a := range alerts {
		if r.FirstSeen.IsZero() || a.FirstSeen.Before(r.FirstSeen) {
			r.FirstSeen = a.FirstSeen
		}
		if a.LastSeen.After(r.LastSeen) {
			r.LastSeen = a.LastSeen
		}
	}
	if err := r.impact(ctx, s); err != nil {
		return nil, err
	}
	r.exposure()
	r.revertPlan()
	r.certificatesInWindow()
	r.Story = r.story()
	audit, err := auditFor(ctx, s)
	if err != nil {
		return nil, err
	}
	r.Checklist = r.checklist(audit)
	return r, nil
}

func isBlocklist(a *vigie.Alert) bool {
	return a.Watch == "blocklist" || vigie.IsBlocklistKey(a.Key)
}

func (r *Report) impact(ctx context.Context, s store.Store) (err error) {
	accounts := map[string]*Account{}
	domains, sites := map[string]bool{}, map[string]bool{}
	account := func(name string) *Account {
		if accounts[name] == nil {
			accounts[name] = &Account{Name: name}
		}
		return accounts[name]
	}
	for i := range r.Alerts {
		a := &r.Alerts[i]
		switch {
		case isBlocklist(a):
			target, list := a.Subject, ""
			if t, l, ok := vigie.ParseBlocklistKey(a.Key); ok {
				target, list = t, l
			}
			l := Listing{Target: target, List: list, State: a.State, Since: a.FirstSeen}
			readListingDetail(&l, a)
			r.Impact.Blocklistings = append(r.Impact.Blocklistings, l)
		case a.Watch == "mail":
			acc := account(a.Subject)
			var c mailCounts
			if r.light {
				c = readMailCounts(a.Evidence)
			} else if c, err = counts(ctx, s, a); err != nil {
				return err
			}
			acc.Messages, acc.Recipients = max(acc.Messages, c.messages), max(acc.Recipients, c.recipients)
			if isAccountVolume(a) {
				acc.AfterMessages, acc.AfterRecipients = max(acc.AfterMessages, c.afterMessages), max(acc.AfterRecipients, c.afterRecipients)
				acc.Bounces = max(acc.Bounces, c.bounces)
				acc.AfterKnown = acc.AfterKnown || c.known
				if c.limitPerMinute > 0 {
					acc.HabitPerMinute, acc.LimitPerMinute = c.habitPerMinute, c.limitPerMinute
				}
				if acc.Detected.IsZero() || a.FirstSeen.Before(acc.Detected) {
					acc.Detected = a.FirstSeen
				}
				if a.LastSeen.After(acc.LastSeen) {
					acc.LastSeen = a.LastSeen
				}
				acc.Firing = acc.Firing || a.State.Active()
				if !a.State.Active() && a.ResolvedAt.After(acc.ResolvedAt) {
					acc.ResolvedAt = a.ResolvedAt
				}
				// Between two repeats of the finding, the watch stores the
				// running count: the report is exact up to its last minute.
				if a.State.Active() && !r.light {
					if n, err := runningAfter(ctx, s, a, r.GeneratedAt); err != nil {
						return err
					} else if n > acc.AfterMessages {
						// What it sent since the last finding adds to both counts.
						acc.Messages += n - acc.AfterMessages
						acc.AfterMessages = n
					}
				}
			}
		case a.Watch == "web":
			if st, ok := readSite(a); ok {
				sites[st.Path] = true
				r.Impact.Installs = mergeSite(r.Impact.Installs, st)
			} else if at, ok := readAttack(a); ok {
				r.Impact.Attacks = append(r.Impact.Attacks, at)
			} else {
				sites[a.Subject] = true
			}
			if uid := uidAccount(a.Evidence[evWebUID]); uid != "" {
				account(uid)
			}
		case a.Watch == "dns":
			domains[strings.ToLower(a.Subject)] = true
			if c, ok := readChange(a); ok {
				r.Impact.Changes = append(r.Impact.Changes, c)
			}
		case a.Watch == "ct":
			c := Certificate{Subject: a.Subject, Names: a.Evidence["names"], Issuer: a.Evidence["issuer"], Seen: a.FirstSeen,
				NotAfter: a.Evidence["not_after"], State: a.State}
			if c.Names == "" {
				c.Names = a.Evidence["domain"]
			}
			if nb, err := time.Parse(time.RFC3339, a.Evidence["not_before"]); err == nil {
				c.Seen = nb.UTC()
			}
			r.Impact.Certificates = append(r.Impact.Certificates, c)
		}
	}
	for _, acc := range accounts {
		r.Impact.Accounts = append(r.Impact.Accounts, *acc)
		r.Impact.Messages += acc.Messages
		r.Impact.Recipients += acc.Recipients
	}
	sort.Slice(r.Impact.Accounts, func(i, j int) bool { return r.Impact.Accounts[i].Name < r.Impact.Accounts[j].Name })
	r.Impact.Domains = sortedKeys(domains)
	r.Impact.Sites = sortedKeys(sites)
	return nil
}

func mergeSite(sites []Site, st Site) []Site {
	for i := range sites {
		if sites[i].Path == st.Path {
			sites[i].Rules = append(sites[i].Rules, st.Rules...)
			if st.State.Active() {
				sites[i].State = st.State
			}
			return sites
		}
	}
	return append(sites, st)
}

// runningAfter is the newest running count of what a firing account sent
// after its detection, as the mail watch stores it each minute.
func runningAfter(ctx context.Context, s store.Store, a *vigie.Alert, now time.Time) (int64, error) {
	to := now.Add(time.Minute)
	if a.LastSeen.After(to) {
		to = a.LastSeen.Add(time.Minute)
	}
	ss, err := s.Samples(ctx, mail.SeriesAccountAfterDetection, a.Subject, a.FirstSeen, to)
	if err != nil || len(ss) == 0 {
		return 0, err
	}
	return int64(ss[len(ss)-1].Value), nil
}

// counts returns the largest counts the alert's findings reported (a
// watch reports what the subject sent since the alert began and since its
// detection; the resolving finding has the final ones).
func counts(ctx context.Context, s store.Store, a *vigie.Alert) (mailCounts, error) {
	fs, err := s.ListFindings(ctx, store.FindingQuery{AlertID: a.ID, Limit: 100000})
	if err != nil {
		return mailCounts{}, err
	}
	var out mailCounts
	for _, f := range fs { // newest first: the last one read detected it
		c := readMailCounts(f.Evidence)
		if !f.Resolved && c.limitPerMinute > 0 {
			out.limitPerMinute, out.habitPerMinute = c.limitPerMinute, c.habitPerMinute
		}
		out.messages, out.recipients = max(out.messages, c.messages), max(out.recipients, c.recipients)
		out.afterMessages, out.afterRecipients = max(out.afterMessages, c.afterMessages), max(out.afterRecipients, c.afterRecipients)
		out.bounces = max(out.bounces, c.bounces)
		out.known = out.known || c.known
	}
	return out, nil
}

func number(s string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

func (r *Report) exposure() {
	e := Exposure{Start: r.FirstSeen}
	if r.Incident.State == vigie.IncidentResolved {
		e.End = r.Incident.ResolvedAt
	} else {
		e.Ongoing = true
	}
	for _, a := range r.Alerts {
		if a.Watch != "dns" {
			continue
		}
		if d, ok := ttl(a.Evidence["ttl"]); ok && d > e.MaxTTL {
			e.MaxTTL = d
		}
	}
	if !e.End.IsZero() && e.MaxTTL > 0 {
		e.CachedUntil = e.End.Add(e.MaxTTL)
	}
	r.Exposure = e
}

// ttl reads a TTL in seconds ("86400") or as a duration ("24h").
func ttl(s string) (time.Duration, bool) {
	if s == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	d, err := time.ParseDuration(s)
	return d, err == nil && d >= 0
}

func (r *Report) revertPlan() {
	for _, a := range r.Alerts {
		if a.Watch != "dns" || (a.Evidence["expected"] == "" && a.Evidence["observed"] == "") {
			continue
		}
		r.RevertPlan = append(r.RevertPlan, Revert{Domain: a.Subject, Rule: a.Rule, Observed: a.Evidence["observed"],
			Expected: a.Evidence["expected"], Done: a.State == vigie.AlertResolved})
	}
	sort.SliceStable(r.RevertPlan, func(i, j int) bool {
		if r.RevertPlan[i].Domain != r.RevertPlan[j].Domain {
			return r.RevertPlan[i].Domain < r.RevertPlan[j].Domain
		}
		return r.RevertPlan[i].Rule < r.RevertPlan[j].Rule
	})
}

func (r *Report) certificatesInWindow() {
	if len(r.Impact.Domains) == 0 {
		return
	}
	end := r.Exposure.CachedUntil
	if end.IsZero() {
		end = r.Exposure.End
	}
	for i := range r.Impact.Certificates {
		c := &r.Impact.Certificates[i]
		c.InWindow = !c.Seen.Before(r.Exposure.Start) && (r.Exposure.Ongoing || end.IsZero() || !c.Seen.After(end))
		if c.InWindow {
			r.CertificatesInWindow = append(r.CertificatesInWindow, *c)
		}
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Headlines says what happened in each incident, in one line each, from
// its alerts alone (their latest evidence, no findings or timeline read):
// the lists of incidents show these instead of the stored titles.
func Headlines(ctx context.Context, s store.Store, ins []vigie.Incident) (map[int64]string, error) {
	out := make(map[int64]string, len(ins))
	for _, in := range ins {
		alerts, err := s.ListAlerts(ctx, store.AlertQuery{IncidentID: in.ID, Limit: 1000000})
		if err != nil {
			return nil, err
		}
		r := &Report{Incident: in, Alerts: alerts, light: true}
		if err := r.impact(ctx, s); err != nil {
			return nil, err
		}
		st := r.story()
		out[in.ID] = st.Headline
	}
	return out, nil
}
