// Package incident writes what an incident report is made of, from what
// vigie recorded as it happened: the summary, the impact (accounts,
// domains, messages, certificates, blocklistings), the exposure window,
// the timeline, the actions taken and what remains to do; for a DNS
// incident, the revert plan and the certificates issued in its window.
package incident

import (
	"context"
	"fmt"
	"sort"
	"strings"
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
	Todo                 []Todo

	siteAlerts map[string][]int // the alerts (indexes) that named each site
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
	Sites         []string
	Certificates  []Certificate
	Blocklistings []Listing
	Messages      int64 // reported by mail findings
	Recipients    int64
}

// Account, Certificate, Listing and Revert are what the watches' readings
// (watch.Reading) say an alert touched.
type (
	Account     = watch.Account
	Certificate = watch.Certificate
	Listing     = watch.Listing
	Revert      = watch.Revert
)

// Todo is one thing left to do (or done).
type Todo struct {
	Text string
	Done bool
}

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
	r.todo()
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
	r.siteAlerts = map[string][]int{}
	for i := range r.Alerts {
		a := &r.Alerts[i]
		d := ws.Reporter(a)
		if d == nil {
			continue
		}
		findings := func(ctx context.Context) ([]vigie.Finding, error) {
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
		for _, l := range rd.Listings {
			r.Impact.Blocklistings = append(r.Impact.Blocklistings, l)
		}
		for _, ac := range rd.Accounts {
			acc := account(ac.Name)
			acc.Messages, acc.Recipients = max(acc.Messages, ac.Messages), max(acc.Recipients, ac.Recipients)
		}
		for _, site := range rd.Sites {
			sites[site] = true
			r.siteAlerts[site] = append(r.siteAlerts[site], i)
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

func (r *Report) todo() {
	add := func(done bool, format string, args ...any) {
		r.Todo = append(r.Todo, Todo{Text: fmt.Sprintf(format, args...), Done: done})
	}
	acted := func(target string, names ...string) bool {
		for _, e := range r.Actions {
			if e.Data["target"] != target || e.Data["result"] != "ok" {
				continue
			}
			for _, n := range names {
				if strings.Contains(e.Data["action"], n) {
					return true
				}
			}
		}
		return false
	}
	in := r.Incident
	add(in.State != vigie.IncidentOpen, "Acknowledge the incident (vigie incident ack %d)", in.ID)
	for _, acc := range r.Impact.Accounts {
		if strings.HasPrefix(acc.Name, "uid:") {
			add(acted(acc.Name, "suspend", "lock", "disable", "kill"), "Stop what runs as %s (its web applications, cron jobs) and find how it was abused", acc.Name)
		} else {
			add(acted(acc.Name, "password", "suspend", "lock"), "Change the password of %s (or suspend it) and find where it leaked", acc.Name)
		}
		if acc.Messages > 0 {
			add(acted(acc.Name, "hold", "purge"), "Hold or purge the mail %s queued", acc.Name)
		}
	}
	for _, site := range r.Impact.Sites {
		add(r.siteResolved(site), "Update or remove the web application at %s", site)
	}
	for _, l := range r.Impact.Blocklistings {
		add(l.State == vigie.AlertResolved, "Request delisting of %s from %s", l.Target, l.List)
	}
	if n := len(r.RevertPlan); n > 0 {
		left := 0
		for _, rv := range r.RevertPlan {
			if !rv.Done {
				left++
			}
		}
		add(left == 0, "Revert the changed DNS records (%d of %d left, see the revert plan)", left, n)
	}
	if len(r.Impact.Domains) > 0 {
		unchecked := 0
		for _, c := range r.CertificatesInWindow {
			if c.State != vigie.AlertResolved {
				unchecked++
			}
		}
		add(unchecked == 0, "Check the certificates issued in the exposure window (%d of %d unchecked); revoke the rogue ones",
			unchecked, len(r.CertificatesInWindow))
	}
	active := 0
	for _, a := range r.Alerts {
		if a.State.Active() {
			active++
		}
	}
	add(active == 0, "Wait for every alert to resolve (%d still active)", active)
	add(in.State == vigie.IncidentResolved, "Resolve the incident (vigie incident resolve %d)", in.ID)
	notes := 0
	for _, e := range r.Timeline {
		if e.Kind == vigie.TimelineNote {
			notes++
		}
	}
	add(notes > 0, "Write down the cause and the lessons (vigie incident note %d TEXT)", in.ID)
}

// siteResolved says whether every alert that named site is resolved.
func (r *Report) siteResolved(site string) bool {
	for _, i := range r.siteAlerts[site] {
		if r.Alerts[i].State != vigie.AlertResolved {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
