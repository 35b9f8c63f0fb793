package ct

import (
	"context"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/dnswatch"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
)

// IncidentFor finds an open incident that holds a DNS watch alert for a
// domain one of names is (or is under), and whose window (from the first
// DNS alert, less margin, to now) contains issued. A certificate issued
// while a domain's delegation was hijacked belongs to that incident.
func IncidentFor(ctx context.Context, st store.Store, names []string, issued time.Time, margin time.Duration) (vigie.Incident, bool, error) {
	incs, err := st.ListIncidents(ctx, store.IncidentQuery{States: []vigie.IncidentState{vigie.IncidentOpen, vigie.IncidentAcknowledged}})
	if err != nil {
		return vigie.Incident{}, false, err
	}
	for _, in := range incs {
		alerts, err := st.ListAlerts(ctx, store.AlertQuery{IncidentID: in.ID})
		if err != nil {
			return vigie.Incident{}, false, err
		}
		for _, a := range alerts {
			if a.Watch != string(dnswatch.Name) || !a.State.Active() {
				continue
			}
			start := a.FirstSeen
			if in.OpenedAt.Before(start) {
				start = in.OpenedAt
			}
			if issued.Before(start.Add(-margin)) {
				continue
			}
			if coversAny(a.Subject, names) {
				return in, true, nil
			}
		}
	}
	return vigie.Incident{}, false, nil
}

// coversAny reports whether one of names is domain or a subdomain of it.
func coversAny(domain string, names []string) bool {
	d, ok := normalize(domain)
	if !ok || d == "" {
		return false
	}
	for _, n := range names {
		n, ok := normalize(n)
		if !ok {
			continue
		}
		n = strings.TrimPrefix(n, "*.")
		if n == d || strings.HasSuffix(n, "."+d) {
			return true
		}
	}
	return false
}
