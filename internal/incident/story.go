package incident

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
)

// Story is an incident told by kind, from its alerts: what a registrar,
// a mail admin or a hoster needs at a glance, before the alert rows.
type Story struct {
	// Headline says what happened: "751 domains in 34 TLDs moved to
	// ns1.rogue-dns.example", "manon@example.org sent 2,580 messages in
	// 43 min".
	Headline string
	DNS      *DNSStory
	Mail     []MailStory // one per account or uid that sent
	Web      []WebStory  // one per install
	// Listings are every blocklisting of the incident, whichever watch
	// raised it, with how to get off each list.
	Listings []Listing
	// Notes are the alerts the watches tell in a sentence (a broken
	// DNSSEC chain, a registry lock removed), by topic.
	Notes []NoteGroup
}

// NoteGroup is the notes of one topic, critical first.
type NoteGroup struct {
	Topic string
	Notes []Note
}

// Count is a name and how many domains (or alerts) it has.
type Count struct {
	Name string
	N    int
}

// ValueCount is one new value of one record kind and how many domains
// now serve it: the rogue NS set, the new A, MX or SPF.
type ValueCount struct {
	Kind    string
	Value   string
	Domains int
}

// DNSStory is a delegation or record hijack in numbers.
type DNSStory struct {
	Domains     int
	Records     int          // changed records (a domain may have several)
	TLDs        []Count      // domains by TLD, most first
	Values      []ValueCount // domains by new value, most first
	Kinds       []Count      // changed records by kind
	FirstChange time.Time    // the first sweep that saw a change
	LastChange  time.Time    // the last one that saw a new domain change
	Sweeps      []Count      // the sweeps that saw them: time (RFC 3339) and new domains
	MinTTL      time.Duration
	MaxTTL      time.Duration
	// Exposure: from the first change seen to the revert (or now), plus
	// the largest TTL during which resolvers keep the bad answers.
	ExposureStart time.Time
	ExposureEnd   time.Time // zero while ongoing
	CachedUntil   time.Time // zero while ongoing
	Reverted      int       // changed records back to expected or approved
	Certificates  int       // issued in the window
	Servers       []Count   // the parent servers that answered the changes
}

// MailStory is what one account or local uid sent.
type MailStory struct {
	Account  string
	Detected time.Time // the first finding
	LastSeen time.Time
	// Messages and recipients sent after the detection (exact), and since
	// the alert began (the tripping window included).
	AfterMessages, AfterRecipients int64
	AfterKnown                     bool // the watch reports them (older findings do not)
	Messages, Recipients           int64
	Bounces                        int64
	Final                          bool // the alert resolved: the counts are final
	Refusals                       int64
	Containment                    []vigie.TimelineEntry // what was done to stop it
	// Its habit and the limit the detection compared with, per minute:
	// the band of its sending graph.
	HabitPerMinute, LimitPerMinute float64
	// Series is its sending rate's time series (its watch's).
	Series watch.SeriesName
}

// WebStory is one web application in the incident.
type WebStory struct {
	Site     Site
	Attacks  []Attack // requests seen against it (or the incident's, when the log names no install)
	Requests int64
	IPs      int
	MailSent int64 // messages its owner's uid sent since its alert began
	Account  string
}

func (r *Report) story() Story {
	st := Story{Listings: r.Impact.Blocklistings, Notes: noteGroups(r.Impact.Notes)}
	if len(r.Impact.Changes) > 0 {
		st.DNS = r.dnsStory()
	}
	for _, acc := range r.Impact.Accounts {
		if acc.Detected.IsZero() {
			continue
		}
		ms := MailStory{Account: acc.Name, Detected: acc.Detected, LastSeen: acc.LastSeen, AfterMessages: acc.AfterMessages,
			AfterRecipients: acc.AfterRecipients, AfterKnown: acc.AfterKnown, Messages: acc.Messages, Recipients: acc.Recipients, Bounces: acc.Bounces, Final: !acc.Firing,
			HabitPerMinute: acc.HabitPerMinute, LimitPerMinute: acc.LimitPerMinute, Series: acc.Series}
		for _, l := range r.Impact.Blocklistings {
			ms.Refusals += l.Refusals
		}
		for _, e := range r.Actions {
			if e.Data["target"] == acc.Name {
				ms.Containment = append(ms.Containment, e)
			}
		}
		st.Mail = append(st.Mail, ms)
	}
	for _, site := range r.Impact.Installs {
		ws := WebStory{Site: site}
		ips := map[string]bool{}
		for _, at := range r.Impact.Attacks {
			if at.Install != "" && at.Install != site.Path {
				continue
			}
			ws.Attacks = append(ws.Attacks, at)
			ws.Requests += at.Requests
			ips[at.IP] = true
		}
		ws.IPs = len(ips)
		if acc := site.Account; acc != "" {
			for _, a := range r.Impact.Accounts {
				if a.Name == acc {
					ws.Account, ws.MailSent = acc, a.Messages
				}
			}
		}
		st.Web = append(st.Web, ws)
	}
	st.Headline = r.headline(&st)
	return st
}

func (r *Report) dnsStory() *DNSStory {
	d := &DNSStory{Records: len(r.Impact.Changes)}
	tlds, kinds, servers := map[string]map[string]bool{}, map[string]int{}, map[string]int{}
	values := map[[2]string]map[string]bool{}
	firstByDomain := map[string]time.Time{}
	for _, c := range r.Impact.Changes {
		if tlds[c.TLD] == nil {
			tlds[c.TLD] = map[string]bool{}
		}
		tlds[c.TLD][c.Domain] = true
		kinds[c.Kind]++
		if c.Server != "" {
			servers[c.Server]++
		}
		k := [2]string{c.Kind, c.Observed}
		if values[k] == nil {
			values[k] = map[string]bool{}
		}
		values[k][c.Domain] = true
		if f, ok := firstByDomain[c.Domain]; !ok || c.FirstSeen.Before(f) {
			firstByDomain[c.Domain] = c.FirstSeen
		}
		if c.TTL > d.MaxTTL {
			d.MaxTTL = c.TTL
		}
		if c.TTL > 0 && (d.MinTTL == 0 || c.TTL < d.MinTTL) {
			d.MinTTL = c.TTL
		}
		if c.State == vigie.AlertResolved {
			d.Reverted++
		}
	}
	d.Domains = len(firstByDomain)
	sweeps := map[time.Time]int{}
	for _, t := range firstByDomain {
		sweeps[t]++
		if d.FirstChange.IsZero() || t.Before(d.FirstChange) {
			d.FirstChange = t
		}
		if t.After(d.LastChange) {
			d.LastChange = t
		}
	}
	for t, n := range tlds {
		d.TLDs = append(d.TLDs, Count{t, len(n)})
	}
	sortCounts(d.TLDs)
	for k, n := range kinds {
		d.Kinds = append(d.Kinds, Count{k, n})
	}
	sortCounts(d.Kinds)
	for k, n := range servers {
		d.Servers = append(d.Servers, Count{k, n})
	}
	sortCounts(d.Servers)
	var times []time.Time
	for t := range sweeps {
		times = append(times, t)
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	for _, t := range times {
		d.Sweeps = append(d.Sweeps, Count{t.UTC().Format(time.RFC3339), sweeps[t]})
	}
	for k, n := range values {
		d.Values = append(d.Values, ValueCount{Kind: k[0], Value: k[1], Domains: len(n)})
	}
	sort.Slice(d.Values, func(i, j int) bool {
		if d.Values[i].Domains != d.Values[j].Domains {
			return d.Values[i].Domains > d.Values[j].Domains
		}
		if d.Values[i].Kind != d.Values[j].Kind {
			return d.Values[i].Kind < d.Values[j].Kind
		}
		return d.Values[i].Value < d.Values[j].Value
	})
	d.ExposureStart = d.FirstChange
	if d.Reverted == d.Records {
		// Every record is back: the exposure ended at the last revert,
		// and lasts in caches for the largest TTL.
		for i, a := range r.Alerts {
			if i < len(r.readings) && namesDomains(&r.readings[i]) && a.ResolvedAt.After(d.ExposureEnd) {
				d.ExposureEnd = a.ResolvedAt
			}
		}
		if !d.ExposureEnd.IsZero() {
			d.CachedUntil = d.ExposureEnd.Add(d.MaxTTL)
		}
	}
	d.Certificates = len(r.CertificatesInWindow)
	return d
}

// noteGroups groups notes by topic, topics in the order first seen,
// notes critical first, then by subject.
func noteGroups(notes []Note) []NoteGroup {
	var out []NoteGroup
	idx := map[string]int{}
	for _, n := range notes {
		i, ok := idx[n.Topic]
		if !ok {
			i = len(out)
			idx[n.Topic] = i
			out = append(out, NoteGroup{Topic: n.Topic})
		}
		out[i].Notes = append(out[i].Notes, n)
	}
	for _, g := range out {
		sort.SliceStable(g.Notes, func(i, j int) bool {
			a, b := g.Notes[i], g.Notes[j]
			if a.Severity != b.Severity {
				return a.Severity > b.Severity
			}
			return a.Subject < b.Subject
		})
	}
	return out
}

func sortCounts(cs []Count) {
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].N != cs[j].N {
			return cs[i].N > cs[j].N
		}
		return cs[i].Name < cs[j].Name
	})
}

// headline is the incident's title as it should read: what happened, with
// its size. The stored title (the first alert's summary) stays below it.
func (r *Report) headline(st *Story) string {
	var parts []string
	if d := st.DNS; d != nil && len(d.Values) > 0 {
		v := d.Values[0]
		what := "moved to " + firstValue(v.Value)
		if v.Kind != "ns" {
			what = fmt.Sprintf("now serve %s %s", strings.ToUpper(v.Kind), firstValue(v.Value))
		}
		s := fmt.Sprintf("%s in %s %s", plural(d.Domains, "domain"), plural(len(d.TLDs), "TLD"), what)
		if d.Domains == 1 {
			s = fmt.Sprintf("%s %s", r.Impact.Changes[0].Domain, what)
		}
		parts = append(parts, s)
	}
	for _, w := range st.Web {
		s := fmt.Sprintf("%s %s at %s", w.Site.App, w.Site.Version, w.Site.Path)
		switch {
		case w.Requests > 0:
			s += fmt.Sprintf(" attacked (%s from %s)", plural(int(w.Requests), "exploit request"), plural(w.IPs, "IP"))
		case w.Site.Status != "":
			s += " is " + w.Site.Status
		}
		parts = append(parts, s)
	}
	for _, m := range st.Mail {
		if m.Messages == 0 {
			continue // the watch did not count it: the title says more
		}
		end := m.LastSeen
		if end.Before(m.Detected) {
			end = m.Detected
		}
		parts = append(parts, fmt.Sprintf("%s sent %s messages in %s", m.Account, thousands(m.Messages), minutes(end.Sub(m.Detected))))
	}
	if len(st.Listings) > 0 {
		lists := map[string]bool{}
		for _, l := range st.Listings {
			lists[l.List] = true
		}
		parts = append(parts, "listed by "+strings.Join(sortedKeys(lists), ", "))
	}
	if len(parts) == 0 || len(parts) == 1 && len(st.Listings) > 0 && st.DNS == nil && len(st.Web) == 0 && !countedMail(st) {
		return r.Incident.Title
	}
	return strings.Join(parts, "; ")
}

// firstValue is the first name of a set: "ns1.rogue-dns.example" of
// "ns1.rogue-dns.example., ns2.rogue-dns.example." (the page and the
// report list the whole set).
func firstValue(v string) string {
	first, _, _ := strings.Cut(v, ", ")
	first, _, _ = strings.Cut(first, " ")
	return strings.TrimSuffix(first, ".")
}

// thousands writes n with a comma every three digits: 2,580.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// minutes is a duration for a headline: "43 min", "5 h 12 min", "2 days".
func minutes(d time.Duration) string {
	m := int64(d.Round(time.Minute) / time.Minute)
	switch {
	case m < 1:
		return "under a minute"
	case m < 60:
		return fmt.Sprintf("%d min", m)
	case m < 48*60:
		if m%60 == 0 {
			return fmt.Sprintf("%d h", m/60)
		}
		return fmt.Sprintf("%d h %d min", m/60, m%60)
	default:
		return fmt.Sprintf("%d days", m/(24*60))
	}
}

// Thousands is n with a comma every three digits, as the reports write it.
func Thousands(n int64) string { return thousands(n) }

// Span is a duration as the reports write it: 1h32m, 2d.
func Span(d time.Duration) string { return span(d) }

func countedMail(st *Story) bool {
	for _, m := range st.Mail {
		if m.Messages > 0 {
			return true
		}
	}
	return false
}
