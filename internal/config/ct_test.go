package config

import (
	"fmt"
	"strings"
	"testing"
)

func TestCTSectionErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{"ct:\n  start: middle\n", "ct.start: expected one of [end beginning]"},
		{"ct:\n  watchlist: [\"exa mple.com\"]\n", "ct.watchlist[0]: expected a domain"},
		{"ct:\n  logs:\n    - {name: x, url: ftp://log, key: AAAA, api: rfc6962}\n", "ct.logs[0].url: expected an http(s) URL"},
		{"ct:\n  logs:\n    - {name: x, url: https://log/, key: \"not base64!\", api: rfc6962}\n", "ct.logs[0].key"},
		{"ct:\n  logs:\n    - {name: x, url: https://log/, key: AAAA, api: grpc}\n", "ct.logs[0].api: expected one of [rfc6962 static]"},
		{"ct:\n  concurrency: 0\n", "ct.concurrency: expected a whole number of at least 1"},
		{"ct:\n  rate_limit: -1\n", "ct.rate_limit"},
		{"ct:\n  verify_every: 0\n", "ct.verify_every"},
		{"ct:\n  poll_interval: 0\n", "ct.poll_interval: expected a positive duration"},
	}
	for _, c := range cases {
		_, err := Parse("c.yaml", []byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.in, err, c.want)
		}
	}
	cfg, err := Parse("c.yaml", []byte("ct:\n  watchlist: [example.com, \"*.example.org\", \"=bücher.example\"]\n  expected_issuers: {example.com: [letsencrypt.org]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.CT.Enabled() || len(cfg.CT.Logs) != len(DefaultCTLogs()) {
		t.Errorf("ct = %+v", cfg.CT)
	}
	if Default().CT.Enabled() {
		t.Error("the CT watch is on without a watchlist")
	}
}

// The DNS watch's inventory feeds the CT watchlist: the first field of
// each dns.domains line, and dns.domains_file when ct has no file.
func TestCTWatchTakesTheDNSInventory(t *testing.T) {
	cfg, err := Parse("c.yaml", []byte("dns:\n  domains: [\"a.example ns1.a.example,ns2.a.example\", b.example]\n  domains_file: /srv/domains.txt\n"+
		"ct:\n  watchlist: [c.example]\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.CTWatch()
	if fmt.Sprint(got.Watchlist) != "[c.example a.example b.example]" || got.WatchlistFile != "/srv/domains.txt" || !got.Enabled() {
		t.Errorf("CTWatch = %v %q", got.Watchlist, got.WatchlistFile)
	}
	if fmt.Sprint(cfg.CT.Watchlist) != "[c.example]" {
		t.Errorf("CTWatch changed the config: %v", cfg.CT.Watchlist)
	}
	cfg.CT.DNSInventory = false
	if got := cfg.CTWatch(); fmt.Sprint(got.Watchlist) != "[c.example]" || got.WatchlistFile != "" {
		t.Errorf("dns_inventory off: %v %q", got.Watchlist, got.WatchlistFile)
	}
	if got := Default().CTWatch(); got.Enabled() {
		t.Error("the defaults watch certificates for nothing")
	}
}
