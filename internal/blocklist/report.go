package blocklist

import (
	"context"

	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
)

// report reads a listing, whichever watch saw it: this one (a DNSBL
// answer) or the mail watch (a refusal naming the list), both keyed by
// vigie.BlocklistKey.
func report() *watch.Report {
	return &watch.Report{
		Owns: func(a *vigie.Alert) bool { return vigie.IsBlocklistKey(a.Key) },
		Read: func(_ context.Context, a *vigie.Alert, _ func(context.Context) ([]vigie.Finding, error)) (watch.Reading, error) {
			target, list := a.Subject, ""
			if t, l, ok := vigie.ParseBlocklistKey(a.Key); ok {
				target, list = t, l
			}
			return watch.Reading{Listings: []watch.Listing{{Target: target, List: list, State: a.State, Since: a.FirstSeen}}}, nil
		},
	}
}
