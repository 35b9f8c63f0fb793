package ct

import "github.com/vigie/vigie/internal/watch"

// Name is the CT watch's name.
const Name watch.Name = "ct"

// Descriptor is the CT watch as the rest of vigie knows it.
func Descriptor() *watch.Descriptor {
	return &watch.Descriptor{Name: Name, Title: "Certificate Transparency", Build: Build, Doctor: Doctor,
		Report:   report(),
		Grouping: &watch.Grouping{Domains: watch.NamesIn(EvidenceDomain, EvidenceNames), JoinsDomains: true},
	}
}

// Build returns the CT watch when a watchlist is configured, directly or
// through the DNS watch's inventory.
func Build(d watch.Deps) ([]watch.Watch, error) {
	c := d.Config.CTWatch()
	if !c.Enabled() {
		d.Logger.Info("CT watch off: no watchlist (set ct.watchlist or ct.watchlist_file, or dns.domains with ct.dns_inventory)",
			"component", string(Name))
		return nil, nil
	}
	w, err := New(Options{CT: c, Store: d.Store, Sink: d.Sink, Logger: d.Logger,
		Metrics: d.Metrics, Now: d.Now, Node: d.Config.Node})
	if err != nil {
		return nil, err
	}
	return []watch.Watch{w}, nil
}
