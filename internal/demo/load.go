package demo

import (
	"context"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/vigie/vigie/internal/alert"
	"github.com/vigie/vigie/internal/store"
)

// Loaded counts what Load put in the store.
type Loaded struct {
	Findings int
	Samples  int
}

// Load replays the scenarios one after the other: each one's findings go
// through sink (the real alert pipeline: de-duplication, alerts,
// incidents, timelines) in time order, as the detectors reported them, and
// its samples into the store's series, before the next scenario runs.
func Load(ctx context.Context, sink alert.Sink, st store.Store, scenarios []Scenario, now time.Time) (Loaded, error) {
	var n Loaded
	for _, sc := range scenarios {
		dir, err := os.MkdirTemp("", "vigie-demo-"+sc.Name+"-")
		if err != nil {
			return n, err
		}
		res, err := sc.Run(ctx, &Env{Store: st, Now: now, Dir: dir})
		os.RemoveAll(dir)
		if err != nil {
			return n, err
		}
		sort.SliceStable(res.Findings, func(i, j int) bool { return res.Findings[i].Time.Before(res.Findings[j].Time) })
		for _, f := range res.Findings {
			if err := sink.Emit(ctx, f); err != nil {
				return n, fmt.Errorf("demo: emitting %s/%s %s: %w", f.Watch, f.Rule, f.Subject, err)
			}
			n.Findings++
		}
		samples := res.Samples
		for len(samples) > 0 {
			batch := samples[:min(len(samples), 5000)]
			if err := st.AddSamples(ctx, batch); err != nil {
				return n, fmt.Errorf("demo: samples of %s: %w", sc.Name, err)
			}
			n.Samples += len(batch)
			samples = samples[len(batch):]
		}
	}
	return n, nil
}
