package config

import (
	"strings"
	"testing"
	"time"
)

func TestBlocklistSection(t *testing.T) {
	cfg, err := Parse("c.yaml", []byte("blocklist:\n  enabled: on\n  resolver: 127.0.0.1:5353\n  ips: [192.0.2.1, '2001:db8::1']\n  domains: [example.org]\n  interval: 1h\n"))
	if err != nil {
		t.Fatal(err)
	}
	b := cfg.Blocklist
	if b.Enabled != SwitchOn || b.Resolver != "127.0.0.1:5353" || len(b.IPs) != 2 || b.Domains[0] != "example.org" || b.Interval != time.Hour || b.Timeout != 5*time.Second {
		t.Errorf("blocklist = %+v", b)
	}
	for _, c := range []struct{ in, want string }{
		{"blocklist:\n  interval: 30s\n", "c.yaml:2: blocklist.interval: expected at least 5m"},
		{"blocklist:\n  resolver: dns.google\n", "c.yaml:2: blocklist.resolver: expected an IP address"},
		{"blocklist:\n  ips:\n    - 192.0.2.1\n    - mail.example.org\n", "c.yaml:4: blocklist.ips[1]: expected an IP address"},
		{"blocklist:\n  domains: [192.0.2.1]\n", "blocklist.domains[0]: expected a domain name"},
		{"blocklist:\n  domains: ['exa mple.org']\n", "blocklist.domains[0]: expected a domain name"},
		{"blocklist:\n  timeout: 0s\n", "c.yaml:2: blocklist.timeout: expected a positive duration"},
		{"blocklist:\n  enabled: maybe\n", "c.yaml:2: blocklist.enabled: expected auto, on or off"},
		{"blocklist:\n  zones: []\n", "c.yaml:2: blocklist.zones: unknown key"},
	} {
		_, err := Parse("c.yaml", []byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err = %v, want %q", c.in, err, c.want)
		}
	}
}
