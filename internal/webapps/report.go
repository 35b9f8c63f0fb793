package webapps

import (
	"context"

	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
)

// report reads a web alert as the site it is about and, when known, the
// uid it runs as (an account of the incident: what else runs as it).
func report() *watch.Report {
	return &watch.Report{
		Evidence: []watch.EvidenceKey{EvidenceUID},
		Read: func(_ context.Context, a *vigie.Alert, _ func(context.Context) ([]vigie.Finding, error)) (watch.Reading, error) {
			r := watch.Reading{Sites: []string{a.Subject}}
			if uid := EvidenceUID.Of(a.Evidence); uid != "" {
				r.Accounts = []watch.Account{{Name: "uid:" + uid}}
			}
			return r, nil
		},
	}
}
