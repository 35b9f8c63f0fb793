package app

import (
	"net/http"

	"github.com/vigie/vigie/internal/dnswatch"
	"github.com/vigie/vigie/internal/rdap"
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
			SecWarn: c.DNSSEC.Warn, NoDNSSEC: !c.DNSSEC.Enabled,
		},
		Store: d.Store, Sink: d.Sink, Metrics: d.Metrics, Logger: d.Logger.With("component", dnswatch.WatchName), Now: d.Now,
		Node: d.Config.Node, LeaseTTL: c.LeaseTTL,
	}
	if d.Config.Store.Driver == "postgres" {
		// several nodes may share the store: split the sweep by leases
		// and keep the baseline where every node reads it
		wc.Monitor.Shards, wc.Monitor.BaselineState = c.Shards, d.Store
	}
	if c.RDAP.Enabled {
		bs, err := rdap.Load(d.DataDir)
		if err != nil {
			d.Logger.Warn("rdap bootstrap", "err", err)
		}
		wc.RDAP = &dnswatch.RDAPChecker{Lookup: &rdap.Client{Bootstrap: bs, Rate: c.RDAP.RateLimit,
			HTTP: &http.Client{Timeout: c.RDAP.Timeout}, UserAgent: "vigie (registry status monitor)"},
			State: d.Store, Sink: d.Sink, Now: d.Now, ExpiryDays: c.RDAP.ExpiryDays}
		wc.RDAPInterval = c.RDAP.Interval
	}
	w := dnswatch.NewWatch(wc)
	return []Watch{w}, nil
}
