// Package incident writes what an incident report is made of, from what
// vigie recorded as it happened: the summary, the impact (accounts,
// domains, messages, certificates, blocklistings), the exposure window,
// the timeline, the actions taken and what remains to do; for a DNS
// incident, the revert plan and the certificates issued in its window.
package incident

import (
	"context"
	"sort"
	"time"

	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
	"github.com/vigie/vigie/internal/watches"
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
	// readings[i] is what Alerts[i] touched, as its watch read it (zero
	// for an alert no watch reads).
	readings []watch.Reading
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
	Notes         []Note // alerts told in a sentence (DNSSEC, registry)
	Messages      int64  // reported by mail findings
	Recipients    int64
}

// What the watches' readings (watch.Reading) say an alert touched.
type (
	Account     = watch.Account
	Listing     = watch.Listing
	Certificate = watch.Certificate
	Revert      = watch.Revert
	Change      = watch.Change
	Note        = watch.Note
	Site        = watch.Site
	Attack      = watch.Attack
)

// Build reads incident id from s and assembles its report as of now, the
// alerts read by the watches vigie ships (watches.All()).
func Build(ctx context.Context, s store.Store, id int64, now time.Time) (*Report, error) {
	return BuildWith(ctx, s, watches.All(), id, now)
}

// BuildWith is Build with the watches that read the alerts: each alert is
// read by its watch's descriptor (watch.Report); an alert no watch reads
// counts in the summary and the timeline only.
func BuildWith(ctx context.Context, s store.Store, ws watch.List, id int64, now time.Time) (*Report, error) {
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
	if err := r.impact(ctx, s, ws); err != nil {
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

func (r *Report) impact(ctx context.Context, s store.Store, ws watch.List) error {
	accounts := map[string]*Account{}
	domains, sites := map[string]bool{}, map[string]bool{}
	account := func(name string) *Account {
		if accounts[name] == nil {
			accounts[name] = &Account{Name: name}
		}
		return accounts[name]
	}
	r.readings = make([]watch.Reading, len(r.Alerts))
	for i := range r.Alerts {
		a := &r.Alerts[i]
		d := ws.Reporter(a)
		if d == nil {
			continue
		}
		findings := func(ctx context.Context) ([]vigie.Finding, error) {
			if r.light { // the alert's latest evidence stands for its findings
				return []vigie.Finding{{Watch: a.Watch, Rule: a.Rule, Subject: a.Subject, Evidence: a.Evidence}}, nil
			}
			fs, err := s.ListFindings(ctx, store.FindingQuery{AlertID: a.ID, Limit: 100000})
			out := make([]vigie.Finding, len(fs))
			for i := range fs {
				out[i] = fs[i].Finding
			}
			return out, err
		}
		rd, err := d.Report.Read(ctx, a, findings)
		if err != nil {
			return err
		}
		r.readings[i] = rd
		r.Impact.Blocklistings = append(r.Impact.Blocklistings, rd.Listings...)
		r.Impact.Changes = append(r.Impact.Changes, rd.Changes...)
		r.Impact.Attacks = append(r.Impact.Attacks, rd.Attacks...)
		r.Impact.Notes = append(r.Impact.Notes, rd.Notes...)
		for _, st := range rd.Installs {
			r.Impact.Installs = mergeSite(r.Impact.Installs, st)
		}
		for _, ac := range rd.Accounts {
			if err := r.addAccount(ctx, s, account(ac.Name), ac); err != nil {
				return err
			}
		}
		for _, site := range rd.Sites {
			sites[site] = true
		}
		for _, dom := range rd.Domains {
			domains[dom] = true
		}
		r.Impact.Certificates = append(r.Impact.Certificates, rd.Certificates...)
		r.Exposure.MaxTTL = max(r.Exposure.MaxTTL, rd.TTL)
		r.RevertPlan = append(r.RevertPlan, rd.Reverts...)
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

// exposure sets the window from the first sighting to the resolution, and
// the cache tail from the longest TTL the readings reported (impact).
func (r *Report) exposure() {
	e := Exposure{Start: r.FirstSeen, MaxTTL: r.Exposure.MaxTTL}
	if r.Incident.State == vigie.IncidentResolved {
		e.End = r.Incident.ResolvedAt
	} else {
		e.Ongoing = true
	}
	if !e.End.IsZero() && e.MaxTTL > 0 {
		e.CachedUntil = e.End.Add(e.MaxTTL)
	}
	r.Exposure = e
}

// revertPlan sorts the revert lines the readings gave (impact).
func (r *Report) revertPlan() {
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

// addAccount folds one alert's reading of an account into the incident's:
// the largest counts, the earliest detection; while its alert fires, the
// running count the watch stores each minute between two repeats of the
// finding (light: not read).
func (r *Report) addAccount(ctx context.Context, s store.Store, acc *Account, ac watch.Account) error {
	acc.Messages, acc.Recipients = max(acc.Messages, ac.Messages), max(acc.Recipients, ac.Recipients)
	if ac.Detected.IsZero() {
		return nil
	}
	acc.AfterMessages, acc.AfterRecipients = max(acc.AfterMessages, ac.AfterMessages), max(acc.AfterRecipients, ac.AfterRecipients)
	acc.AfterKnown = acc.AfterKnown || ac.AfterKnown
	acc.Bounces = max(acc.Bounces, ac.Bounces)
	if ac.LimitPerMinute > 0 {
		acc.LimitPerMinute, acc.HabitPerMinute = ac.LimitPerMinute, ac.HabitPerMinute
	}
	if acc.Detected.IsZero() || ac.Detected.Before(acc.Detected) {
		acc.Detected = ac.Detected
	}
	if ac.LastSeen.After(acc.LastSeen) {
		acc.LastSeen = ac.LastSeen
	}
	if ac.ResolvedAt.After(acc.ResolvedAt) {
		acc.ResolvedAt = ac.ResolvedAt
	}
	acc.Firing = acc.Firing || ac.Firing
	acc.Series, acc.RunningSeries = ac.Series, ac.RunningSeries
	if !ac.Firing || r.light || ac.RunningSeries == "" {
		return nil
	}
	to := r.GeneratedAt.Add(time.Minute)
	if ac.LastSeen.After(to) {
		to = ac.LastSeen.Add(time.Minute)
	}
	ss, err := s.Samples(ctx, string(ac.RunningSeries), acc.Name, ac.Detected, to)
	if err != nil || len(ss) == 0 {
		return err
	}
	if n := int64(ss[len(ss)-1].Value); n > acc.AfterMessages {
		// What it sent since the last finding adds to both counts.
		acc.Messages += n - acc.AfterMessages
		acc.AfterMessages = n
	}
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

// Headlines says what happened in each incident, in one line each, from
// its alerts alone (their latest evidence, no findings or timeline read):
// the lists of incidents show these instead of the stored titles.
func Headlines(ctx context.Context, s store.Store, ins []vigie.Incident) (map[int64]string, error) {
	return HeadlinesWith(ctx, s, watches.All(), ins)
}

// HeadlinesWith is Headlines with the watches that read the alerts.
func HeadlinesWith(ctx context.Context, s store.Store, ws watch.List, ins []vigie.Incident) (map[int64]string, error) {
	out := make(map[int64]string, len(ins))
	for _, in := range ins {
		alerts, err := s.ListAlerts(ctx, store.AlertQuery{IncidentID: in.ID, Limit: 1000000})
		if err != nil {
			return nil, err
		}
		r := &Report{Incident: in, Alerts: alerts, light: true}
		if err := r.impact(ctx, s, ws); err != nil {
			return nil, err
		}
		out[in.ID] = r.story().Headline
	}
	return out, nil
}
