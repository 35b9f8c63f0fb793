package app

import "github.com/vigie/vigie/internal/ct"

// buildCT returns the CT watch when a watchlist is configured, directly
// or through the DNS watch's inventory.
func buildCT(d Deps) ([]Watch, error) {
	c := d.Config.CTWatch()
	if !c.Enabled() {
		return nil, nil
	}
	w, err := ct.New(ct.Options{CT: c, Store: d.Store, Sink: d.Sink, Logger: d.Logger,
		Metrics: d.Metrics, Now: d.Now, Node: d.Config.Node})
	if err != nil {
		return nil, err
	}
	return []Watch{w}, nil
}
