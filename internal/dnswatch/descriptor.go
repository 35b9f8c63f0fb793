package dnswatch

import (
	"net/http"

	"github.com/vigie/vigie/internal/rdap"
	"github.com/vigie/vigie/internal/watch"
)

// Name is the DNS watch's name.
const Name watch.Name = "dns"

// Descriptor is the DNS watch as the rest of vigie knows it.
func Descriptor() *watch.Descriptor {
	return &watch.Descriptor{Name: Name, Title: "DNS", Build: Build, Doctor: Doctor,
		Series: []watch.Series{
			{Name: SeriesDriftDomains, Title: "Open drifts (domain and kind) after each sweep", Unit: "drifts", Subjects: []string{""}},
			{Name: SeriesSweepSeconds, Title: "Sweep duration", Unit: "s", Subjects: []string{"delegation", "records"}},
		},
		Panels:   []watch.Panel{driftPanel()},
		Report:   reading(),
		Grouping: &watch.Grouping{Domains: watch.SubjectDomain, IndexDomains: true},
	}
}

// Build returns the DNS watch when domains are configured.
func Build(d watch.Deps) ([]watch.Watch, error) {
	c := d.Config.DNS
	if !c.Enabled() {
		d.Logger.Info("DNS watch off: no domain to watch (set dns.domains or dns.domains_file)", "component", string(Name))
		return nil, nil
	}
	resolver := c.Resolver
	if resolver == "" {
		resolver = SystemResolver()
	}
	wc := WatchConfig{
		Inventory:       Inventory{Lines: c.Domains, File: c.DomainsFile},
		ParentInterval:  c.ParentInterval,
		RecordsInterval: c.RecordsInterval,
		Monitor: Options{
			Parents: c.Parents, Resolver: resolver, ChildPort: uint16(c.ChildPort),
			Timeout: c.Timeout, Retries: c.Retries, Backoff: c.Backoff, RateLimit: float64(c.RateLimit),
			Sockets: c.Sockets, InFlight: c.InFlight, BaselinePath: BaselinePath(d.DataDir),
			SecWarn: c.DNSSEC.Warn, NoDNSSEC: !c.DNSSEC.Enabled,
		},
		Store: d.Store, Sink: d.Sink, Metrics: d.Metrics, Logger: d.Logger.With("component", string(Name)), Now: d.Now,
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
		wc.RDAP = &RDAPChecker{Lookup: &rdap.Client{Bootstrap: bs, Rate: c.RDAP.RateLimit,
			HTTP: &http.Client{Timeout: c.RDAP.Timeout}, UserAgent: "vigie (registry status monitor)"},
			State: d.Store, Sink: d.Sink, Now: d.Now, ExpiryDays: c.RDAP.ExpiryDays}
		wc.RDAPInterval = c.RDAP.Interval
	}
	return []watch.Watch{NewWatch(wc)}, nil
}
