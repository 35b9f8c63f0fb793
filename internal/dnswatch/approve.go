package dnswatch

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
)

// A RevertRow is one domain of a revert plan: what the registry must
// serve again, next to what it serves now.
type RevertRow struct {
	Domain     string    `json:"domain"`
	TLD        string    `json:"tld"`
	ExpectedNS string    `json:"expected_ns"`
	ObservedNS string    `json:"observed_ns"`
	ExpectedDS string    `json:"expected_ds,omitempty"`
	ObservedDS string    `json:"observed_ds,omitempty"`
	FirstSeen  time.Time `json:"first_seen"`
	LastSeen   time.Time `json:"last_seen"`
	TTL        string    `json:"ttl"` // seconds, the longest served with the change
	State      string    `json:"state"`
}

// RevertPlan lists, for the registrar to push back to the registries,
// every domain of incident id whose NS or DS changed. Rows are sorted by
// domain.
func RevertPlan(ctx context.Context, st store.Alerts, id int64) ([]RevertRow, error) {
	alerts, err := st.ListAlerts(ctx, store.AlertQuery{IncidentID: id, Watch: WatchName, Limit: 10_000_000})
	if err != nil {
		return nil, err
	}
	rows := map[string]*RevertRow{}
	for _, a := range alerts {
		kind := EvidenceKind.Of(a.Evidence)
		if a.Rule != string(RuleDrift) || (kind != "ns" && kind != "ds") {
			continue
		}
		r := rows[a.Subject]
		if r == nil {
			r = &RevertRow{Domain: a.Subject, TLD: EvidenceTLD.Of(a.Evidence), FirstSeen: a.FirstSeen, LastSeen: a.LastSeen, State: string(a.State)}
			rows[a.Subject] = r
		}
		if kind == "ns" {
			r.ExpectedNS, r.ObservedNS = EvidenceExpected.Of(a.Evidence), EvidenceObserved.Of(a.Evidence)
		} else {
			r.ExpectedDS, r.ObservedDS = EvidenceExpected.Of(a.Evidence), EvidenceObserved.Of(a.Evidence)
		}
		if a.FirstSeen.Before(r.FirstSeen) {
			r.FirstSeen = a.FirstSeen
		}
		if a.LastSeen.After(r.LastSeen) {
			r.LastSeen = a.LastSeen
		}
		if ttl := EvidenceMaxTTL.Of(a.Evidence); ttl != "" {
			if n, _ := strconv.Atoi(ttl); n > atoi(r.TTL) {
				r.TTL = ttl
			}
		}
	}
	out := make([]RevertRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Domain < out[j].Domain })
	return out, nil
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// DriftAlerts returns the active drift alerts about domains (lower case,
// fully qualified), or of incident id when id is not 0.
func DriftAlerts(ctx context.Context, st store.Alerts, domains []string, id int64) ([]vigie.Alert, error) {
	q := store.AlertQuery{Watch: WatchName, States: []vigie.AlertState{vigie.AlertFiring, vigie.AlertAcknowledged}, Limit: 10_000_000}
	if id != 0 {
		q.IncidentID = id
	}
	alerts, err := st.ListAlerts(ctx, q)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, d := range domains {
		want[d] = true
	}
	var out []vigie.Alert
	for _, a := range alerts {
		if a.Rule == string(RuleDrift) && (id != 0 || want[a.Subject]) {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Approve accepts the observed values of drift alerts as the new
// expected state: it writes them to the baseline, resolves the
// alerts, and records who did it in the audit log and the incidents'
// timelines.
func Approve(ctx context.Context, st store.Store, sink watch.Sink, bl BaselineTarget, alerts []vigie.Alert, actor string, now time.Time) error {
	set := map[string]map[Kind]string{}
	for _, a := range alerts {
		k, err := ParseKind(EvidenceKind.Of(a.Evidence))
		if err != nil {
			return fmt.Errorf("alert %d: %w", a.ID, err)
		}
		if set[a.Subject] == nil {
			set[a.Subject] = map[Kind]string{}
		}
		set[a.Subject][k] = EvidenceObserved.Of(a.Evidence)
	}
	if len(set) == 0 {
		return nil
	}
	if err := bl.Set(ctx, set); err != nil {
		return err
	}
	rep := &Reporter{State: st}
	recs, err := rep.load(ctx)
	if err != nil {
		return err
	}
	incidents := map[int64][]string{}
	for _, a := range alerts {
		summary := fmt.Sprintf("approved by %s: %s of %s is now expected to be %s", actor, EvidenceKind.Of(a.Evidence), a.Subject, shorten(EvidenceObserved.Of(a.Evidence)))
		f := vigie.Finding{Watch: WatchName, Rule: a.Rule, Subject: a.Subject, Key: a.Key, Resolved: true, Time: now, Summary: summary}
		if err := sink.Emit(ctx, f); err != nil {
			return err
		}
		delete(recs, a.Key)
		if a.IncidentID != 0 {
			incidents[a.IncidentID] = append(incidents[a.IncidentID], EvidenceKind.Of(a.Evidence)+" "+a.Subject)
		}
	}
	if err := rep.save(ctx, recs); err != nil {
		return err
	}
	domains := make([]string, 0, len(set))
	for d := range set {
		domains = append(domains, d)
	}
	sort.Strings(domains)
	if _, err := st.AddAudit(ctx, vigie.AuditEntry{Time: now, Actor: actor, Action: "dns.approve",
		Target: truncate(strings.Join(domains, " "), 4000), Detail: fmt.Sprintf("%d values of %d domains", len(alerts), len(domains)), Result: "ok"}); err != nil {
		return err
	}
	for id, what := range incidents {
		text := fmt.Sprintf("%s approved %d changes as the new expected state: %s", actor, len(what), truncate(strings.Join(what, ", "), 2000))
		if _, err := st.AddTimeline(ctx, vigie.TimelineEntry{IncidentID: id, Time: now, Kind: vigie.TimelineAction, Actor: actor, Text: text}); err != nil {
			return err
		}
	}
	return nil
}

// WriteRevertPlan writes rows as CSV (a header line first) or, with format
// "json", as one JSON object a line: what `vigie dns revert-plan` prints
// and the dashboard's download serves.
func WriteRevertPlan(w io.Writer, format string, rows []RevertRow) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		for _, r := range rows {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
		return nil
	}
	cw := csv.NewWriter(w)
	cw.Write([]string{"domain", "tld", "expected_ns", "observed_ns", "expected_ds", "observed_ds", "first_seen", "last_seen", "ttl", "state"})
	for _, r := range rows {
		// A cell starting with = + - @ would be a formula in a spreadsheet;
		// DNS names never start so, but DS digests come from the registry.
		cw.Write([]string{csvSafe(r.Domain), csvSafe(r.TLD), csvSafe(r.ExpectedNS), csvSafe(r.ObservedNS), csvSafe(r.ExpectedDS), csvSafe(r.ObservedDS),
			r.FirstSeen.Format(time.RFC3339), r.LastSeen.Format(time.RFC3339), r.TTL, r.State})
	}
	cw.Flush()
	return cw.Error()
}

func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@", rune(s[0])) {
		return "'" + s
	}
	return s
}
