package dnswatch

import (
	"context"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
)

// DownloadRevertPlan is the name of the incident page's revert plan
// download (/incidents/{id}/revert-plan), the rows of RevertPlan.
const DownloadRevertPlan = "revert-plan"

// reading reads a DNS alert as the domain that changed, how long resolvers
// may keep the bad data (its TTL), the line of the revert plan and, for a
// drift, the record that changed (what the incident's DNS story counts by
// TLD and by new value).
func reading() *watch.Report {
	return &watch.Report{
		Evidence: []watch.EvidenceKey{EvidenceExpected, EvidenceObserved, EvidenceTTL, EvidenceKind, EvidenceMaxTTL, EvidenceTLD, EvidenceServer},
		Read: func(_ context.Context, a *vigie.Alert, _ func(context.Context) ([]vigie.Finding, error)) (watch.Reading, error) {
			r := watch.Reading{Domains: []string{strings.ToLower(a.Subject)}}
			if d, ok := ttlOf(EvidenceTTL.Of(a.Evidence)); ok {
				r.TTL = d
			}
			exp, obs := EvidenceExpected.Of(a.Evidence), EvidenceObserved.Of(a.Evidence)
			if exp != "" || obs != "" {
				r.Reverts = []watch.Revert{{Domain: a.Subject, Rule: a.Rule, Observed: obs, Expected: exp, Done: a.State == vigie.AlertResolved}}
			}
			if c, ok := change(a); ok {
				r.Changes = []watch.Change{c}
			}
			return r, nil
		},
		Downloads: []watch.Download{{
			Name:    DownloadRevertPlan,
			Formats: []watch.Format{{Name: "csv", ContentType: "text/csv; charset=utf-8"}, {Name: "json", ContentType: "application/x-ndjson"}},
			Write: func(ctx context.Context, st store.Alerts, id int64, format string, w io.Writer) error {
				rows, err := RevertPlan(ctx, st, id)
				if err != nil {
					return err
				}
				return WriteRevertPlan(w, format, rows)
			},
		}},
	}
}

// change reads a drift alert as the record that changed.
func change(a *vigie.Alert) (watch.Change, bool) {
	ev := a.Evidence
	kind := EvidenceKind.Of(ev)
	if a.Rule != string(RuleDrift) || kind == "" {
		return watch.Change{}, false
	}
	domain := strings.ToLower(a.Subject)
	c := watch.Change{AlertID: a.ID, Domain: domain, TLD: EvidenceTLD.Of(ev), Kind: kind,
		Expected: EvidenceExpected.Of(ev), Observed: EvidenceObserved.Of(ev), Server: EvidenceServer.Of(ev),
		FirstSeen: a.FirstSeen, LastSeen: a.LastSeen, State: a.State}
	for _, k := range []watch.EvidenceKey{EvidenceMaxTTL, EvidenceTTL} {
		if d, ok := ttlOf(k.Of(ev)); ok && d > c.TTL {
			c.TTL = d
		}
	}
	if c.TLD == "" {
		c.TLD = tldOf(domain)
	}
	return c, true
}

// tldOf is the last label of a domain, with the trailing dot: "fr.".
func tldOf(domain string) string {
	d := strings.TrimSuffix(domain, ".")
	if i := strings.LastIndexByte(d, '.'); i >= 0 {
		return d[i+1:] + "."
	}
	return d + "."
}

// ttlOf reads a TTL in seconds ("86400") or as a duration ("24h").
func ttlOf(s string) (time.Duration, bool) {
	if s == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	d, err := time.ParseDuration(s)
	return d, err == nil && d >= 0
}
