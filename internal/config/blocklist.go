package config

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Blocklist configures the blocklist watch: which addresses and domains are
// looked up on which DNS blocklists, through which resolver, how often.
type Blocklist struct {
	Enabled Switch `yaml:"enabled"`
	// Interval between rounds. Lists ask for restraint: at least 5m.
	Interval time.Duration `yaml:"interval"`
	// Resolver is the recursive resolver queried, "IP" or "IP:port".
	// Empty: the system's (/etc/resolv.conf). Public resolvers (Google,
	// Cloudflare, Quad9...) are refused by Spamhaus, URIBL and others.
	Resolver string        `yaml:"resolver"`
	Timeout  time.Duration `yaml:"timeout"`
	// IPs replaces the discovered sending addresses when set.
	IPs      []string `yaml:"ips"`
	ExtraIPs []string `yaml:"extra_ips"`
	Domains  []string `yaml:"domains"`
	// PostfixConfigDir is where main.cf and master.cf are read from:
	// postfix.config_dir (the old key blocklist.postfix_config_dir still
	// sets it, with a warning); empty: /etc/postfix.
	PostfixConfigDir string `yaml:"-"`
	// ZonesFile adds lists to the built-in data (same format).
	ZonesFile string `yaml:"zones_file"`
	// DisableZones names zones or providers not to query.
	DisableZones []string `yaml:"disable_zones"`
}

func defaultBlocklist() Blocklist {
	return Blocklist{
		Enabled:      SwitchAuto,
		Interval:     15 * time.Minute,
		Timeout:      5 * time.Second,
		IPs:          []string{},
		ExtraIPs:     []string{},
		Domains:      []string{},
		DisableZones: []string{},
	}
}

func (b *Blocklist) validate(c *checker) {
	if b.Interval < 5*time.Minute {
		c.bad("blocklist.interval", "expected at least 5m (blocklists limit queries and update slowly), got %v", b.Interval)
	}
	c.positive("blocklist.timeout", b.Timeout)
	if b.Resolver != "" {
		if _, err := netip.ParseAddr(b.Resolver); err != nil {
			if _, err := netip.ParseAddrPort(b.Resolver); err != nil {
				c.bad("blocklist.resolver", "expected an IP address, optionally with a port (127.0.0.1, 127.0.0.1:53, [::1]:53), got %q", b.Resolver)
			}
		}
	}
	for key, list := range map[string][]string{"blocklist.ips": b.IPs, "blocklist.extra_ips": b.ExtraIPs} {
		for i, s := range list {
			if _, err := netip.ParseAddr(s); err != nil {
				c.bad(fmt.Sprintf("%s[%d]", key, i), "expected an IP address, got %q", s)
			}
		}
	}
	for i, d := range b.Domains {
		if _, err := netip.ParseAddr(d); err == nil || !looksLikeDomain(d) {
			c.bad(fmt.Sprintf("blocklist.domains[%d]", i), "expected a domain name such as example.org, got %q", d)
		}
	}
	for i, z := range b.DisableZones {
		if strings.TrimSpace(z) == "" {
			c.bad(fmt.Sprintf("blocklist.disable_zones[%d]", i), "expected a zone or provider name")
		}
	}
}

func looksLikeDomain(d string) bool {
	d = strings.TrimSuffix(d, ".")
	if d == "" || len(d) > 253 {
		return false
	}
	for _, l := range strings.Split(d, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}
