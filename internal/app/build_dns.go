package app

import (
	"github.com/vigie/vigie/internal/dnswatch"
)

// buildDNS returns the DNS watch when domains are configured.
func buildDNS(d Deps) ([]Watch, error) {
	c := d.Config.DNS
	if !c.Enabled() {
		return nil, nil
	}
	resolver := c.Resolver
	if resolver == "" {
		resolver = dnswatch.SystemResolver()
	}
	wc := dnswatch.WatchConfig{
		Inventory:       dnswatch.Inventory{Lines: c.Domains, File: c.DomainsFile},
		ParentInterval:  c.ParentInterval,
		RecordsInterval: c.RecordsInterval,
		Monitor: dnswatch.Options{
			Parents: c.Parents, Resolver: resolver, ChildPort: uint16(c.ChildPort),
			Timeout: c.Timeout, Retries: c.Retries, Backoff: c.Backoff, RateLimit: float64(c.RateLimit),
			Sockets: c.Sockets, InFlight: c.InFlight, BaselinePath: dnswatch.BaselinePath(d.DataDir),
		},
		Store: d.Store, Sink: d.Sink, Metrics: d.Metrics, Logger: d.Logger.With("component", dnswatch.WatchName), Now: d.Now,
		Node: d.Config.Node, LeaseTTL: c.LeaseTTL,
	}
	if d.Config.Store.Driver == "postgres" {
		// several nodes may share the store: split the sweep by leases
		// and keep the baseline where every node reads it
		wc.Monitor.Shards, wc.Monitor.BaselineState = c.Shards, d.Store
	}
	w := dnswatch.NewWatch(wc)
	return []Watch{w}, nil
}
