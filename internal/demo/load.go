package demo

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/vigie/vigie/internal/alert"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
)

// Loaded counts what Load put in the store.
type Loaded struct {
	Findings int
	Samples  int
}

// Load replays the scenarios: every finding goes through sink (the real
// alert pipeline: de-duplication, alerts, incidents, timelines), in time
// order as the detectors would have reported them, and the samples into
// the store's series.
func Load(ctx context.Context, sink alert.Sink, series store.Series, scenarios []Scenario, now time.Time) (Loaded, error) {
	var n Loaded
	var findings []vigie.Finding
	for _, sc := range scenarios {
		findings = append(findings, sc.Findings(now)...)
	}
	sort.SliceStable(findings, func(i, j int) bool { return findings[i].Time.Before(findings[j].Time) })
	for _, f := range findings {
		if err := sink.Emit(ctx, f); err != nil {
			return n, fmt.Errorf("demo: emitting %s/%s %s: %w", f.Watch, f.Rule, f.Subject, err)
		}
		n.Findings++
	}
	for _, sc := range scenarios {
		samples := sc.Samples(now)
		for len(samples) > 0 {
			batch := samples[:min(len(samples), 5000)]
			if err := series.AddSamples(ctx, batch); err != nil {
				return n, fmt.Errorf("demo: samples of %s: %w", sc.Name, err)
			}
			n.Samples += len(batch)
			samples = samples[len(batch):]
		}
	}
	return n, nil
}
