package blocklist

import (
	"context"
	"strconv"
	"strings"

	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
)

// report reads a listing, whichever watch saw it: this one (a DNSBL
// answer) or the mail watch (a refusal naming the list), both keyed by
// vigie.BlocklistKey, with how to get off the list (the delisting
// evidence both carry).
func report() *watch.Report {
	return &watch.Report{
		Owns: func(a *vigie.Alert) bool { return vigie.IsBlocklistKey(a.Key) },
		// What a listing's alert tells (the refusal count comes from the
		// mail watch's remote refusals, which its own run checks).
		Evidence: []watch.EvidenceKey{EvidenceListName, EvidenceDelistURL, EvidenceDelistSteps},
		Read: func(_ context.Context, a *vigie.Alert, _ func(context.Context) ([]vigie.Finding, error)) (watch.Reading, error) {
			target, list := a.Subject, ""
			if t, l, ok := vigie.ParseBlocklistKey(a.Key); ok {
				target, list = t, l
			}
			ev := a.Evidence
			l := watch.Listing{Target: target, List: list, State: a.State, Since: a.FirstSeen, AlertID: a.ID, RaisedBy: a.Watch,
				Name: EvidenceListName.Of(ev), DelistURL: EvidenceDelistURL.Of(ev), LastSeen: a.LastSeen}
			for _, s := range strings.Split(EvidenceDelistSteps.Of(ev), "\n") {
				s = strings.TrimSpace(s)
				// "1. Fill in the form": the number is the list's order, kept by ours.
				if i := strings.Index(s, ". "); i > 0 && allDigits(s[:i]) {
					s = s[i+2:]
				}
				if s != "" {
					l.DelistSteps = append(l.DelistSteps, s)
				}
			}
			if n, err := strconv.ParseInt(strings.TrimSpace(EvidenceRefusals.Of(ev)), 10, 64); err == nil && n > 0 {
				l.Refusals = n
			}
			return watch.Reading{Listings: []watch.Listing{l}}, nil
		},
	}
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
