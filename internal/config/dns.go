package config

import (
	"time"

	"github.com/vigie/vigie/internal/dnsname"
)

// DNS configures the DNS watch: delegations read from the parent (TLD)
// servers and records from the domains' own servers, compared with the
// expected state. It is off until domains are listed.
type DNS struct {
	// Domains lists domains inline: "example.org", or "example.org
	// ns1.example.net,ns2.example.net" with the NS the registry must serve.
	Domains []string `yaml:"domains"`
	// DomainsFile is a file with one such line per domain (millions are
	// fine); read again when it changes.
	DomainsFile string `yaml:"domains_file"`
	// Resolver (host:port) finds the servers of parent zones not listed in
	// Parents, and addresses of name servers without glue. Empty: the
	// first nameserver of /etc/resolv.conf.
	Resolver string `yaml:"resolver"`
	// Parents sets the servers of parent zones: {"example.": ["192.0.2.1:53"]}.
	Parents map[string][]string `yaml:"parents"`
	// ChildPort is the port the domains' own servers are asked on.
	ChildPort int `yaml:"child_port"`
	// ParentInterval is how often the delegations (NS, glue, DS) are read.
	ParentInterval time.Duration `yaml:"parent_interval"`
	// RecordsInterval is how often the records (A, AAAA, MX, SPF, DMARC,
	// CAA) are read.
	RecordsInterval time.Duration `yaml:"records_interval"`
	Timeout         time.Duration `yaml:"timeout"`
	Retries         int           `yaml:"retries"`
	Backoff         time.Duration `yaml:"backoff"`
	// RateLimit is the most queries per second sent to one server (0: no
	// limit).
	RateLimit int `yaml:"rate_limit"`
	// Sockets is the number of UDP sockets queries share.
	Sockets int `yaml:"sockets"`
	// InFlight is the most queries outstanding at once.
	InFlight int `yaml:"in_flight"`
	// Shards: with several nodes on one PostgreSQL store, the inventory is
	// cut into this many shards by a hash of the domain name; each node
	// sweeps the shards it holds a lease on, and the baseline is kept in
	// the store. Every node must use the same number.
	Shards int `yaml:"shards"`
	// LeaseTTL is how long a node's claim on its shards lasts without
	// renewal (renewed every third of it): a node that dies hands its
	// share over within about LeaseTTL plus a third.
	LeaseTTL time.Duration `yaml:"lease_ttl"`
	// DNSSEC checks the chain of every domain with a DS at the parent in
	// the records sweep.
	DNSSEC DNSSEC `yaml:"dnssec"`
	// RDAP reads each domain's registration (status, expiry, registrar,
	// NS) from its registry's RDAP server, spread over Interval.
	RDAP RDAP `yaml:"rdap"`
}

// DNSSEC configures the DNSSEC chain check.
type DNSSEC struct {
	Enabled bool `yaml:"enabled"`
	// Warn: a signature expiring sooner than this is a warning.
	Warn time.Duration `yaml:"warn"`
}

// RDAP configures the registry status and expiry checks.
type RDAP struct {
	Enabled bool `yaml:"enabled"`
	// Interval: every domain is looked up once per interval, spread
	// evenly over it.
	Interval time.Duration `yaml:"interval"`
	// RateLimit is the most lookups a second sent to one RDAP server.
	RateLimit float64 `yaml:"rate_limit"`
	// ExpiryDays: within the first a warning, within the others critical.
	ExpiryDays []int         `yaml:"expiry_days"`
	Timeout    time.Duration `yaml:"timeout"`
}

func defaultDNS() DNS {
	return DNS{
		Domains:         []string{},
		Parents:         map[string][]string{},
		ChildPort:       53,
		ParentInterval:  time.Minute,
		RecordsInterval: 15 * time.Minute,
		Timeout:         2 * time.Second,
		Retries:         2,
		Backoff:         200 * time.Millisecond,
		RateLimit:       1000,
		Sockets:         4,
		InFlight:        2000,
		Shards:          64,
		LeaseTTL:        30 * time.Second,
		DNSSEC:          DNSSEC{Enabled: true, Warn: 72 * time.Hour},
		RDAP:            RDAP{Interval: 24 * time.Hour, RateLimit: 1, ExpiryDays: []int{30, 7, 1}, Timeout: 30 * time.Second},
	}
}

// Enabled reports whether any domain is configured.
func (d *DNS) Enabled() bool { return len(d.Domains) > 0 || d.DomainsFile != "" }

func (d *DNS) validate(c *checker) {
	for i, line := range d.Domains {
		if _, err := dnsname.ParseEntry(line); err != nil {
			c.bad("dns.domains", "entry %d: %v", i+1, err)
		}
	}
	if d.Resolver != "" {
		if _, err := dnsname.ParseServer(d.Resolver); err != nil {
			c.bad("dns.resolver", "%v", err)
		}
	}
	for zone, servers := range d.Parents {
		key := "dns.parents." + zone
		if zone != "." {
			if _, err := dnsname.CanonicalName(zone); err != nil {
				c.bad(key, "%v", err)
			}
		}
		if len(servers) == 0 {
			c.bad(key, "expected a list of servers such as [\"192.0.2.1:53\"]")
		}
		for _, s := range servers {
			if _, err := dnsname.ParseServer(s); err != nil {
				c.bad(key, "%v", err)
			}
		}
	}
	if d.ChildPort < 1 || d.ChildPort > 65535 {
		c.bad("dns.child_port", "expected a port from 1 to 65535, got %d", d.ChildPort)
	}
	c.positive("dns.parent_interval", d.ParentInterval)
	c.positive("dns.records_interval", d.RecordsInterval)
	c.positive("dns.timeout", d.Timeout)
	c.positive("dns.backoff", d.Backoff)
	c.atLeast("dns.retries", d.Retries, 0)
	c.atLeast("dns.rate_limit", d.RateLimit, 0)
	c.atLeast("dns.sockets", d.Sockets, 1)
	c.atLeast("dns.in_flight", d.InFlight, 1)
	c.atLeast("dns.shards", d.Shards, 1)
	if d.Shards > 65536 {
		c.bad("dns.shards", "expected at most 65536, got %d", d.Shards)
	}
	c.positive("dns.lease_ttl", d.LeaseTTL)
	c.positive("dns.dnssec.warn", d.DNSSEC.Warn)
	c.positive("dns.rdap.interval", d.RDAP.Interval)
	c.positive("dns.rdap.timeout", d.RDAP.Timeout)
	if d.RDAP.RateLimit <= 0 {
		c.bad("dns.rdap.rate_limit", "expected a positive number of lookups a second, got %v", d.RDAP.RateLimit)
	}
	for _, n := range d.RDAP.ExpiryDays {
		if n < 1 {
			c.bad("dns.rdap.expiry_days", "expected days of 1 or more, got %d", n)
		}
	}
	if d.Sockets > 64 {
		c.bad("dns.sockets", "expected at most 64, got %d (each socket carries up to 60000 queries)", d.Sockets)
	}
}
