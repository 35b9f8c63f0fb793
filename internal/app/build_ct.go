package app

import "github.com/vigie/vigie/internal/ct"

// buildCT returns the CT watch when a watchlist is configured.
func buildCT(d Deps) ([]Watch, error) {
	if !d.Config.CT.Enabled() {
		return nil, nil
	}
	w, err := ct.New(ct.Options{CT: d.Config.CT, Store: d.Store, Sink: d.Sink, Logger: d.Logger,
		Metrics: d.Metrics, Now: d.Now, Node: d.Config.Node})
	if err != nil {
		return nil, err
	}
	return []Watch{w}, nil
}
