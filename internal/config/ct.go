package config

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// CT configures the Certificate Transparency watch. It is off until a
// watchlist is given (domains or a file).
type CT struct {
	// Domains to watch: "example.com" (it and its subdomains),
	// "*.example.com" (subdomains only), "=example.com" (it only).
	// Unicode names are accepted.
	Watchlist []string `yaml:"watchlist"`
	// WatchlistFile has one domain per line; only the first field counts,
	// so the DNS watch's inventory ("domain ns1,ns2") can be used as is.
	// It is re-read when it changes.
	WatchlistFile string `yaml:"watchlist_file"`
	// DNSInventory adds the DNS watch's domains (dns.domains and
	// dns.domains_file) to the watchlist, so that a registrar lists its
	// domains once.
	DNSInventory bool `yaml:"dns_inventory"`
	// ReloadInterval is how often the watchlist file is checked for changes.
	ReloadInterval time.Duration `yaml:"reload_interval"`
	// ExpectedIssuers are the CAs expected per domain (CAA issuer domains
	// such as letsencrypt.org, or organization names); a certificate from
	// another CA is critical.
	ExpectedIssuers map[string][]string `yaml:"expected_issuers"`
	// DefaultExpectedIssuers apply to domains without their own.
	DefaultExpectedIssuers []string `yaml:"default_expected_issuers"`
	// LogListFile is a log list JSON (Google's or Apple's v3 format, as at
	// https://www.gstatic.com/ct/log_list/v3/log_list.json): when set, its
	// usable and qualified logs replace Logs.
	LogListFile string `yaml:"log_list_file"`
	// Logs are the CT logs to follow.
	Logs []CTLog `yaml:"logs"`
	// Start says where a log without saved state is read from: "end" (the
	// current tree head) or "beginning".
	Start string `yaml:"start"`
	// PollInterval is how often each log's head is fetched.
	PollInterval time.Duration `yaml:"poll_interval"`
	// BatchSize is the number of entries asked per get-entries (RFC 6962);
	// static-ct-api logs are read by tiles of 256.
	BatchSize int `yaml:"batch_size"`
	// Concurrency is the number of requests in flight per log.
	Concurrency int `yaml:"concurrency"`
	// MaxBehind: a log this watch follows that is more entries than this
	// behind its head is an alert of the vigie watch (vigie is blind to
	// what was logged since). 0: off.
	MaxBehind int64 `yaml:"max_behind"`
	// MissedPolls: a followed log not polled successfully for this many
	// poll intervals is an alert of the vigie watch. 0: off.
	MissedPolls int `yaml:"missed_polls"`
	// RateLimit is the most requests per second per log.
	RateLimit float64 `yaml:"rate_limit"`
	// MaxRetries bounds the retries of one request after 429/5xx.
	MaxRetries int `yaml:"max_retries"`
	// VerifyEvery is the most entries downloaded before they are
	// verified against the tree head and progress is saved.
	VerifyEvery int `yaml:"verify_every"`
	// IncidentMargin widens an open DNS incident's window backwards: a
	// certificate issued this long before the first DNS alert is still
	// linked to the incident.
	IncidentMargin time.Duration `yaml:"incident_margin"`
	// Timeout bounds one HTTP request.
	Timeout time.Duration `yaml:"timeout"`
	// LeaseTTL: with several nodes on one PostgreSQL store, the logs are
	// split between the live nodes, each node renewing its leases every
	// third of this; a node that dies hands its logs over after at most
	// this plus a third.
	LeaseTTL time.Duration `yaml:"lease_ttl"`
}

// CTLog is one log.
type CTLog struct {
	Name string `yaml:"name"`
	// URL is the log's base URL (RFC 6962) or monitoring prefix
	// (static-ct-api).
	URL string `yaml:"url"`
	// Key is the log's public key, base64 SubjectPublicKeyInfo.
	Key string `yaml:"key"`
	// API is rfc6962 or static.
	API string `yaml:"api"`
	// Origin is a static-ct-api log's checkpoint origin; empty: its
	// submission URL without the scheme, which is what the spec says.
	Origin string `yaml:"origin"`
}

func defaultCT() CT {
	return CT{
		ReloadInterval:         30 * time.Second,
		DNSInventory:           true,
		ExpectedIssuers:        map[string][]string{},
		DefaultExpectedIssuers: []string{},
		Watchlist:              []string{},
		Logs:                   DefaultCTLogs(),
		Start:                  "end",
		PollInterval:           time.Minute,
		MaxBehind:              1000000,
		MissedPolls:            5,
		BatchSize:              256,
		Concurrency:            2,
		RateLimit:              10,
		MaxRetries:             8,
		VerifyEvery:            16384,
		IncidentMargin:         time.Hour,
		Timeout:                30 * time.Second,
		LeaseTTL:               30 * time.Second,
	}
}

// DefaultCTLogs are the logs followed by default: the usable and
// qualified logs of Google's log list (v59.1, 2025-07-10) that accept
// certificates expiring from mid-2026 to 2027. Logs are sharded by
// expiry: refresh this list with log_list_file or `vigie ct loglist`.
func DefaultCTLogs() []CTLog {
	return []CTLog{
		{Name: "Google 'Argon2026h2'", URL: "https://ct.googleapis.com/logs/us1/argon2026h2/", API: "rfc6962",
			Key: "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEKjpni/66DIYrSlGK6Rf+e6F2c/28ZUvDJ79N81+gyimAESAyeNZ++TRgjHWg9TVQnKHTSU0T1TtqDupFnSQTIg=="},
		{Name: "Let's Encrypt 'Oak2026h2'", URL: "https://oak.ct.letsencrypt.org/2026h2/", API: "rfc6962",
			Key: "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEanCds5bj7IU2lcNPnIvZfMnVkSmu69aH3AS8O/Y0D/bbCPdSqYjvuz9Z1tT29PxcqYxf+w1g5CwPFuwqsm3rFQ=="},
		{Name: "Sectigo 'Mammoth2026h2'", URL: "https://mammoth2026h2.ct.sectigo.com/", API: "rfc6962",
			Key: "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE7INh8te0u+TkO+vIY3WYz2GQYxQ9XyLfdLpQp1ibaX3mY4lt2ddRhD/4AtjI/8KXceV+J/VysY8kJ1cKDXTAtg=="},
		{Name: "Sectigo 'Sabre2026h2'", URL: "https://sabre2026h2.ct.sectigo.com/", API: "rfc6962",
			Key: "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEzjXK7DkHgtp3J4bk8n7F3Djym6mrjKfA7YMePmobwPCVVroyM0x1fAkH6eE+ZTVj8Em+ctGqna99CMS0jVk9cw=="},
		{Name: "Sectigo 'Tiger2026h2'", URL: "https://tiger2026h2.ct.sectigo.com/", API: "rfc6962",
			Key: "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEfJFUD/FRkonvZIA9ZT1J3yvA4EpSp3innbIVpMTDR1oCe5vguapheQ7wYiWaCES1EL1B+2BEC+P5bUfwF44lnA=="},
		{Name: "Sectigo 'Elephant2026h2'", URL: "https://elephant2026h2.ct.sectigo.com/", API: "rfc6962",
			Key: "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEO/t4Uwkoou78zkCchh9tfAKbIUJmbOoUAb8szD8StnnHFKAVY5kq1Ljs8YD7CfzdD7xcVjmQYpbtNUhxRMRtmA=="},
		{Name: "TrustAsia 'log2026b'", URL: "https://ct2026-b.trustasia.com/log2026b/", API: "rfc6962",
			Key: "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEDxKMqebj7GLu31jIUOYmcHYQtwQ5s6f4THM7wzhaEgBM4NoOFopFMgoxqiLHnX0FU8eelOqbV0a/T6R++9/6hQ=="},
		{Name: "Geomys 'Tuscolo2026h2'", URL: "https://tuscolo2026h2.skylight.geomys.org/", API: "static",
			Origin: "tuscolo2026h2.sunlight.geomys.org",
			Key:    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEaA6P0i7JTsd9XfzF1/76avRWA3XXI4NStsFO/aFtBp6SY7olDEMiPSFSxGzFQjKA1r9vgG/oFQwurlWMy9FQNw=="},
	}
}

// CTWatch is the CT section as the watch runs it: with dns_inventory on,
// the DNS watch's domains join the watchlist (the first field of each
// dns.domains line; dns.domains_file as the watchlist file when
// ct.watchlist_file is not set, since both files have the same format).
func (c *Config) CTWatch() CT {
	ct := c.CT
	if !ct.DNSInventory || !c.DNS.Enabled() {
		return ct
	}
	ct.Watchlist = append([]string(nil), ct.Watchlist...)
	for _, line := range c.DNS.Domains {
		if f := strings.Fields(line); len(f) > 0 {
			ct.Watchlist = append(ct.Watchlist, f[0])
		}
	}
	if ct.WatchlistFile == "" {
		ct.WatchlistFile = c.DNS.DomainsFile
	}
	return ct
}

// Enabled reports whether there is anything to watch.
func (c *CT) Enabled() bool { return len(c.Watchlist) > 0 || c.WatchlistFile != "" }

func (c *CT) validate(ch *checker) {
	ch.positive("ct.reload_interval", c.ReloadInterval)
	ch.positive("ct.poll_interval", c.PollInterval)
	ch.positive("ct.timeout", c.Timeout)
	ch.positive("ct.lease_ttl", c.LeaseTTL)
	ch.oneOf("ct.start", c.Start, "end", "beginning")
	ch.atLeast("ct.batch_size", c.BatchSize, 1)
	ch.atLeast("ct.concurrency", c.Concurrency, 1)
	ch.atLeast("ct.max_retries", c.MaxRetries, 0)
	ch.atLeast("ct.verify_every", c.VerifyEvery, 1)
	if c.MaxBehind < 0 {
		ch.bad("ct.max_behind", "expected a number of entries, 0 for off, got %d", c.MaxBehind)
	}
	ch.atLeast("ct.missed_polls", c.MissedPolls, 0)
	if c.RateLimit < 0 {
		ch.bad("ct.rate_limit", "expected requests per second, 0 for no limit, got %v", c.RateLimit)
	}
	if c.IncidentMargin < 0 {
		ch.bad("ct.incident_margin", "expected 0 or a positive duration, got %v", c.IncidentMargin)
	}
	for i, d := range c.Watchlist {
		if strings.TrimSpace(d) == "" || strings.ContainsAny(d, " \t/:@") {
			ch.bad(fmt.Sprintf("ct.watchlist[%d]", i), "expected a domain such as example.com, *.example.com or =example.com, got %q", d)
		}
	}
	for i, l := range c.Logs {
		key := fmt.Sprintf("ct.logs[%d]", i)
		u, err := url.Parse(l.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			ch.bad(key+".url", "expected an http(s) URL, got %q", l.URL)
		}
		if _, err := base64.StdEncoding.DecodeString(l.Key); err != nil || l.Key == "" {
			ch.bad(key+".key", "expected the log's public key in base64 (the \"key\" of a log list), got %q", l.Key)
		}
		ch.oneOf(key+".api", l.API, "rfc6962", "static")
		if l.Name == "" {
			ch.bad(key+".name", "expected a name for the log")
		}
	}
}
