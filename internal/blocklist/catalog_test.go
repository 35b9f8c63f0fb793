package blocklist

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The built-in data is complete: every live list says what its codes
// mean, its terms, and how to get off it; the dead ones are never queried.
func TestBuiltinData(t *testing.T) {
	cat, err := LoadCatalog("", nil)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*Zone{}
	for _, z := range cat.All() {
		byName[z.ListName()] = z
		if z.Dead != "" {
			if z.Queryable() {
				t.Errorf("%s is dead but queryable", z.Zone)
			}
			continue
		}
		if z.DelistURL == "" || len(z.DelistSteps) == 0 || z.Terms == "" || z.Name == "" {
			t.Errorf("%s: delisting URL, steps, terms or name missing", z.ListName())
		}
		if z.Kind != KindNone && (len(z.Codes) == 0 || len(z.Health.Listed) == 0 || len(z.Health.Clear) == 0) {
			t.Errorf("%s: codes or health entries missing", z.Zone)
		}
	}
	for _, want := range []string{"zen.spamhaus.org", "b.barracudacentral.org", "bl.spamcop.net", "dnsbl-1.uceprotect.net",
		"psbl.surriel.com", "bl.mailspike.net", "dbl.spamhaus.org", "microsoft"} {
		if byName[want] == nil || byName[want].Dead != "" {
			t.Errorf("%s missing or dead", want)
		}
	}
	for _, dead := range []string{"dnsbl.sorbs.net", "spam.dnsbl.sorbs.net", "dnsbl.njabl.org", "dnsbl.ahbl.org"} {
		if byName[dead] == nil || byName[dead].Dead == "" {
			t.Errorf("%s should be marked dead", dead)
		}
	}
	for _, z := range cat.Queryable() {
		if z.Dead != "" || z.Kind == KindNone || strings.Contains(z.Zone, "sorbs") {
			t.Errorf("queryable: %s", z.ListName())
		}
	}
	zen := byName["zen.spamhaus.org"]
	for _, code := range []string{"127.255.255.252", "127.255.255.254", "127.255.255.255"} {
		if _, ok := zen.Errors[code]; !ok {
			t.Errorf("zen: error code %s not in the data", code)
		}
	}
	if byName["microsoft"].Impact.Severity().String() != "critical" || byName["psbl.surriel.com"].Impact.Severity().String() != "info" {
		t.Error("severity by impact")
	}
}

func TestSiteFileExtendsAndCannotRevive(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o600)
		return p
	}
	extra := write("site.yaml", `zones:
  - zone: rbl.example.net
    provider: example
    kind: ip
    impact: medium
    codes: {127.0.0.2: "listed"}
    delist_url: https://example.net/delist
  - zone: bl.spamcop.net
    provider: spamcop
    kind: ip
    impact: high
    codes: {127.0.0.2: "listed by the site's own reckoning"}
`)
	cat, err := LoadCatalog(extra, []string{"uceprotect", "psbl.surriel.com"})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]*Zone{}
	for _, z := range cat.Queryable() {
		names[z.Zone] = z
	}
	if names["rbl.example.net"] == nil || names["bl.spamcop.net"].Impact != ImpactHigh {
		t.Errorf("extension not applied: %v", names)
	}
	if names["dnsbl-1.uceprotect.net"] != nil || names["psbl.surriel.com"] != nil {
		t.Error("disabled zones still queried")
	}
	if h := names["rbl.example.net"].Health; len(h.Listed) != 1 || h.Listed[0] != "127.0.0.2" || h.Clear[0] != "127.0.0.1" {
		t.Errorf("default health entries: %+v", h)
	}

	for _, c := range []struct{ name, body, want string }{
		{"revive", "zones:\n  - zone: dnsbl.sorbs.net\n    provider: sorbs\n    kind: ip\n", "shut down"},
		{"unknown field", "zones:\n  - zone: x.example\n    provider: x\n    kind: ip\n    colour: red\n", "colour"},
		{"bad kind", "zones:\n  - zone: x.example\n    provider: x\n    kind: url\n", "kind \"url\""},
		{"code outside loopback", "zones:\n  - zone: x.example\n    provider: x\n    kind: ip\n    codes: {10.0.0.2: x}\n", "127.0.0.0/8"},
		{"health of the wrong kind", "zones:\n  - zone: x.example\n    provider: x\n    kind: domain\n    health: {listed: [127.0.0.2]}\n", "does not fit"},
		{"no listed health entry", "zones:\n  - zone: x.example\n    provider: x\n    kind: ip\n    health: {clear: [127.0.0.1]}\n", "health.listed is empty"},
		{"none with zone", "zones:\n  - zone: x.example\n    provider: x\n    kind: none\n", "kind none has no zone"},
	} {
		_, err := LoadCatalog(write(c.name+".yaml", c.body), nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
	}
	if _, err := LoadCatalog("", []string{"nosuchlist"}); err == nil || !strings.Contains(err.Error(), "nosuchlist") {
		t.Errorf("disabling an unknown list: %v", err)
	}
}
