package dnswatch

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
)

// reading reads a DNS alert as the domain that changed, how long resolvers
// may keep the bad data (its TTL) and the line of the revert plan.
func reading() *watch.Report {
	return &watch.Report{
		Evidence: []watch.EvidenceKey{EvidenceExpected, EvidenceObserved, EvidenceTTL},
		Read: func(_ context.Context, a *vigie.Alert, _ func(context.Context) ([]vigie.Finding, error)) (watch.Reading, error) {
			r := watch.Reading{Domains: []string{strings.ToLower(a.Subject)}}
			if d, ok := ttlOf(EvidenceTTL.Of(a.Evidence)); ok {
				r.TTL = d
			}
			exp, obs := EvidenceExpected.Of(a.Evidence), EvidenceObserved.Of(a.Evidence)
			if exp != "" || obs != "" {
				r.Reverts = []watch.Revert{{Domain: a.Subject, Rule: a.Rule, Observed: obs, Expected: exp, Done: a.State == vigie.AlertResolved}}
			}
			return r, nil
		},
	}
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
