package config

import (
	"strings"
	"testing"
	"time"
)

func TestDNSSection(t *testing.T) {
	cfg, err := Parse("c.yaml", []byte(`dns:
  domains: ["example.org", "example.net ns1.host.net,ns2.host.net"]
  parents: {"fr.": ["192.0.2.1:53", "[2001:db8::1]:53"]}
  records_interval: 1h
`))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.DNS.Enabled() || len(cfg.DNS.Parents["fr."]) != 2 || cfg.DNS.RecordsInterval != time.Hour || cfg.DNS.ParentInterval != time.Minute {
		t.Errorf("dns = %+v", cfg.DNS)
	}
	if Default().DNS.Enabled() {
		t.Error("the DNS watch is on by default")
	}
}

func TestDNSSectionErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{"dns:\n  domains: [\"org\"]\n", "c.yaml:2: dns.domains: entry 1: \"org\" is a top-level domain"},
		{"dns:\n  domains: [\"a.org b c\"]\n", "c.yaml:2: dns.domains: entry 1: expected"},
		{"dns:\n  parents: {\"fr.\": [\"ns1.nic.fr:53\"]}\n", "c.yaml:2: dns.parents.fr.: \"ns1.nic.fr:53\": \"ns1.nic.fr\" is not an IP address"},
		{"dns:\n  parents: {\"fr.\": []}\n", "dns.parents.fr.: expected a list of servers"},
		{"dns:\n  resolver: \"here\"\n", "c.yaml:2: dns.resolver:"},
		{"dns:\n  child_port: 0\n", "c.yaml:2: dns.child_port: expected a port"},
		{"dns:\n  parent_interval: 0\n", "c.yaml:2: dns.parent_interval: expected a positive duration"},
		{"dns:\n  in_flight: 0\n", "c.yaml:2: dns.in_flight:"},
		{"dns:\n  sockets: 100\n", "c.yaml:2: dns.sockets: expected at most 64"},
		{"dns:\n  domain: [x.org]\n", "c.yaml:2: dns.domain: unknown key"},
	}
	for _, c := range cases {
		_, err := Parse("c.yaml", []byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.in, err, c.want)
		}
	}
}
