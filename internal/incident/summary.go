package incident

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/vigie"
)

// Summary is the report's opening paragraph, in plain words.
func (r *Report) Summary() string {
	var parts []string
	in := r.Incident
	watches := map[string]bool{}
	for _, a := range r.Alerts {
		watches[a.Watch] = true
	}
	parts = append(parts, fmt.Sprintf("%s from %s.", plural(len(r.Alerts), "alert"), strings.Join(sortedKeys(watches), ", ")))
	var what []string
	if n := len(r.Impact.Accounts); n > 0 {
		s := plural(n, "account")
		if r.Impact.Messages > 0 {
			s += fmt.Sprintf(" sent %d messages to %d recipients", r.Impact.Messages, r.Impact.Recipients)
		}
		what = append(what, s)
	}
	if n := len(r.Impact.Domains); n > 0 {
		what = append(what, plural(n, "domain")+" changed")
	}
	if n := len(r.Impact.Sites); n > 0 {
		what = append(what, plural(n, "web site"))
	}
	if n := len(r.Impact.Blocklistings); n > 0 {
		what = append(what, "listed on "+plural(n, "blocklist"))
	}
	if len(r.Impact.Domains) > 0 {
		what = append(what, plural(len(r.CertificatesInWindow), "certificate")+" issued in the window")
	}
	if len(what) > 0 {
		parts = append(parts, "Impact: "+strings.Join(what, "; ")+".")
	}
	if !r.FirstSeen.IsZero() {
		parts = append(parts, "First seen "+stamp(r.FirstSeen)+".")
	}
	if !in.AckedAt.IsZero() {
		parts = append(parts, fmt.Sprintf("Acknowledged by %s at %s, %s after it opened.", in.AckedBy, stamp(in.AckedAt), span(in.AckedAt.Sub(in.OpenedAt))))
	}
	if len(r.Actions) > 0 {
		parts = append(parts, plural(len(r.Actions), "action")+" taken.")
	}
	if in.State == vigie.IncidentResolved {
		parts = append(parts, fmt.Sprintf("Resolved at %s, %s after it opened.", stamp(in.ResolvedAt), span(in.ResolvedAt.Sub(in.OpenedAt))))
	} else {
		parts = append(parts, "Still "+string(in.State)+".")
	}
	return strings.Join(parts, " ")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// stamp is the one time format of reports: UTC, to the second.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// span is a duration for people: 1h32m, 45s.
func span(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	d = d.Round(time.Second)
	if d >= 24*time.Hour {
		days := d / (24 * time.Hour)
		return fmt.Sprintf("%dd%s", days, strings.TrimSuffix((d-days*24*time.Hour).String(), "0s"))
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// watchesOf lists the watches of a report's alerts, sorted.
func watchesOf(as []vigie.Alert) []string {
	m := map[string]bool{}
	for _, a := range as {
		m[a.Watch] = true
	}
	out := sortedKeys(m)
	sort.Strings(out)
	return out
}
