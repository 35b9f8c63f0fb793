package blocklist

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/vigie/vigie/internal/vigie"
)

// DefaultData is the built-in zone data file (zones.yaml): the lists vigie
// knows, their codes, terms and delisting steps.
//
//go:embed zones.yaml
var DefaultData []byte

// Kind is what a list holds.
type Kind string

const (
	KindIP     Kind = "ip"     // IPv4 reversed octets, IPv6 nibbles
	KindDomain Kind = "domain" // domain names (RHSBL)
	KindNone   Kind = "none"   // not a DNSBL (Microsoft): delisting steps only
)

// Impact is how much mail a listing blocks; it sets the alert severity.
type Impact string

const (
	ImpactHigh   Impact = "high"
	ImpactMedium Impact = "medium"
	ImpactLow    Impact = "low"
)

// Severity maps the impact to an alert severity.
func (i Impact) Severity() vigie.Severity {
	switch i {
	case ImpactHigh:
		return vigie.SeverityCritical
	case ImpactMedium:
		return vigie.SeverityWarning
	default:
		return vigie.SeverityInfo
	}
}

// Health lists a zone's test entries.
type Health struct {
	Listed []string `yaml:"listed"`
	Clear  []string `yaml:"clear"`
}

// A Zone is one entry of the data file: a DNS blocklist, a dead one, or a
// provider with no zone (Microsoft).
type Zone struct {
	Zone        string            `yaml:"zone" json:"zone,omitempty"`
	Provider    string            `yaml:"provider" json:"provider"`
	Name        string            `yaml:"name" json:"name"`
	Aliases     []string          `yaml:"aliases" json:"aliases,omitempty"`
	Kind        Kind              `yaml:"kind" json:"kind"`
	IPv6        bool              `yaml:"ipv6" json:"ipv6,omitempty"`
	Impact      Impact            `yaml:"impact" json:"impact"`
	Bitmask     bool              `yaml:"bitmask" json:"bitmask,omitempty"`
	Codes       map[string]string `yaml:"codes" json:"codes,omitempty"`
	Errors      map[string]string `yaml:"errors" json:"errors,omitempty"`
	Health      Health            `yaml:"health" json:"health"`
	Terms       string            `yaml:"terms" json:"terms,omitempty"`
	DelistURL   string            `yaml:"delist_url" json:"delist_url,omitempty"`
	DelistSteps []string          `yaml:"delist_steps" json:"delist_steps,omitempty"`
	Dead        string            `yaml:"dead" json:"dead,omitempty"`

	codes  map[netip.Addr]string
	errors map[netip.Addr]string
}

// ListName is the name this entry has in alert keys
// (vigie.BlocklistKey(target, ListName())): the zone for a DNSBL, the
// provider for a list that is not one ("microsoft").
func (z *Zone) ListName() string {
	if z.Zone != "" {
		return z.Zone
	}
	return z.Provider
}

// Queryable reports whether vigie sends queries to this zone.
func (z *Zone) Queryable() bool { return z.Kind != KindNone && z.Dead == "" }

// Applies reports whether the zone can answer for target t.
func (z *Zone) Applies(t Target) bool {
	switch z.Kind {
	case KindIP:
		return t.IsIP() && (t.Addr.Is4() || z.IPv6)
	case KindDomain:
		return !t.IsIP()
	}
	return false
}

// Catalog is the set of lists: the built-in data plus a site's file.
type Catalog struct {
	zones []*Zone // in file order, built-in first
}

type dataFile struct {
	Zones []*Zone `yaml:"zones"`
}

// ParseData reads a zone data file. name is used in messages.
func ParseData(name string, data []byte) ([]*Zone, error) {
	var f dataFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var errs []error
	for i, z := range f.Zones {
		if err := z.prepare(); err != nil {
			label := z.Zone
			if label == "" {
				label = z.Provider
			}
			errs = append(errs, fmt.Errorf("%s: zones[%d] (%s): %w", name, i, label, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return f.Zones, nil
}

// prepare checks an entry, fills the defaults and parses its codes.
func (z *Zone) prepare() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	z.Zone = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(z.Zone)), ".")
	z.Provider = strings.ToLower(strings.TrimSpace(z.Provider))
	if z.Provider == "" {
		bad("provider is empty")
	}
	if z.Name == "" {
		z.Name = z.ListName()
	}
	switch z.Kind {
	case KindIP, KindDomain:
		if z.Zone == "" {
			bad("zone is empty (only kind none has no zone)")
		} else if _, err := ParseTarget(z.Zone); err != nil {
			bad("zone %q is not a domain name", z.Zone)
		}
	case KindNone:
		if z.Zone != "" {
			bad("kind none has no zone to query; remove zone %q or set kind ip or domain", z.Zone)
		}
	default:
		bad("kind %q: expected ip, domain or none", z.Kind)
	}
	switch z.Impact {
	case ImpactHigh, ImpactMedium, ImpactLow:
	case "":
		z.Impact = ImpactLow
	default:
		bad("impact %q: expected high, medium or low", z.Impact)
	}
	z.codes = map[netip.Addr]string{}
	z.errors = map[netip.Addr]string{}
	for _, set := range []struct {
		name string
		in   map[string]string
		out  map[netip.Addr]string
	}{{"codes", z.Codes, z.codes}, {"errors", z.Errors, z.errors}} {
		for k, v := range set.in {
			a, err := netip.ParseAddr(k)
			if err != nil || !a.Is4() || !loopback8.Contains(a) {
				bad("%s: %q is not an address in 127.0.0.0/8", set.name, k)
				continue
			}
			set.out[a] = v
		}
	}
	if z.Kind == KindIP && len(z.Health.Listed) == 0 && len(z.Health.Clear) == 0 {
		z.Health = Health{Listed: []string{"127.0.0.2"}, Clear: []string{"127.0.0.1"}}
	}
	if z.Kind == KindDomain && len(z.Health.Listed) == 0 && len(z.Health.Clear) == 0 {
		z.Health = Health{Listed: []string{"test"}, Clear: []string{"invalid"}}
	}
	for _, h := range append(append([]string(nil), z.Health.Listed...), z.Health.Clear...) {
		t, err := ParseTarget(h)
		if err != nil {
			bad("health entry %q: %v", h, err)
			continue
		}
		if t.IsIP() != (z.Kind == KindIP) {
			bad("health entry %q does not fit a zone of kind %s", h, z.Kind)
		}
	}
	if z.Dead == "" && z.Kind != KindNone && len(z.Health.Listed) == 0 {
		bad("health.listed is empty: without a test entry that must be listed, a dead or refusing zone would pass for clean")
	}
	return errors.Join(errs...)
}

// NewCatalog merges the built-in data with a site's extra entries: an extra
// entry with the zone (or, for kind none, the provider) of a built-in one
// replaces it, except that a dead zone stays dead. disable names zones (or
// providers) not to query.
func NewCatalog(builtin, extra []*Zone, disable []string) (*Catalog, error) {
	c := &Catalog{}
	index := map[string]int{}
	for _, z := range builtin {
		index[z.ListName()] = len(c.zones)
		c.zones = append(c.zones, z)
	}
	var errs []error
	for _, z := range extra {
		i, ok := index[z.ListName()]
		if !ok {
			index[z.ListName()] = len(c.zones)
			c.zones = append(c.zones, z)
			continue
		}
		if old := c.zones[i]; old.Dead != "" && z.Dead == "" {
			errs = append(errs, fmt.Errorf("zone %s: %s; vigie does not query it", z.Zone, old.Dead))
			continue
		}
		c.zones[i] = z
	}
	off := map[string]bool{}
	for _, d := range disable {
		d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
		found := false
		for _, z := range c.zones {
			if z.Zone == d || z.Provider == d {
				found = true
				off[z.ListName()] = true
			}
		}
		if !found {
			errs = append(errs, fmt.Errorf("disable_zones: %q is neither a zone nor a provider in the data", d))
		}
	}
	if len(off) > 0 {
		kept := c.zones[:0]
		for _, z := range c.zones {
			if !off[z.ListName()] {
				kept = append(kept, z)
			}
		}
		c.zones = kept
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// LoadCatalog is the catalog for a configuration: the built-in data, the
// file at extraPath if not empty, minus the disabled lists.
func LoadCatalog(extraPath string, disable []string) (*Catalog, error) {
	builtin, err := ParseData("built-in zones.yaml", DefaultData)
	if err != nil {
		return nil, err
	}
	var extra []*Zone
	if extraPath != "" {
		data, err := os.ReadFile(extraPath)
		if err != nil {
			return nil, fmt.Errorf("blocklist zones file: %w", err)
		}
		if extra, err = ParseData(extraPath, data); err != nil {
			return nil, err
		}
	}
	return NewCatalog(builtin, extra, disable)
}

// All returns every entry, dead and not-a-DNSBL ones included.
func (c *Catalog) All() []*Zone { return c.zones }

// Queryable returns the zones vigie queries.
func (c *Catalog) Queryable() []*Zone {
	var out []*Zone
	for _, z := range c.zones {
		if z.Queryable() {
			out = append(out, z)
		}
	}
	return out
}

// Delisting finds the entry for a list named in a bounce or by the mail
// watch: a zone ("zen.spamhaus.org"), a provider ("spamhaus",
// "microsoft") or an alias ("outlook.com", "S3150"), case-insensitive.
// target (an IP or a domain, may be empty) picks between a provider's IP
// and domain lists. Dead lists are found too: their entry says so. The
// entry's ListName is the list part of the alert key to use, so that the
// mail watch's evidence and the blocklist watch's listing meet in one
// alert.
func (c *Catalog) Delisting(list, target string) (*Zone, bool) {
	name := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(list)), ".")
	if name == "" {
		return nil, false
	}
	want := KindNone
	if t, err := ParseTarget(target); err == nil {
		want = KindDomain
		if t.IsIP() {
			want = KindIP
		}
	}
	var hits []*Zone
	for _, z := range c.zones {
		if z.Zone == name || z.Provider == name || containsFold(z.Aliases, name) {
			hits = append(hits, z)
		}
	}
	if len(hits) == 0 {
		// A component zone of a known list: "sbl.spamhaus.org" names
		// the Spamhaus IP list even without an alias.
		for _, z := range c.zones {
			if z.Zone != "" && strings.HasSuffix(name, "."+parentDomain(z.Zone)) {
				hits = append(hits, z)
			}
		}
	}
	// Prefer a live list of the right kind, then any live one, then any.
	sort.SliceStable(hits, func(i, j int) bool { return rank(hits[i], want) < rank(hits[j], want) })
	if len(hits) == 0 {
		return nil, false
	}
	return hits[0], true
}

func rank(z *Zone, want Kind) int {
	r := 0
	if z.Dead != "" {
		r += 4
	}
	if want != KindNone && z.Kind != want && z.Kind != KindNone {
		r += 2
	}
	return r
}

// parentDomain drops the first label: zen.spamhaus.org -> spamhaus.org.
func parentDomain(zone string) string {
	if _, rest, ok := strings.Cut(zone, "."); ok && strings.Contains(rest, ".") {
		return rest
	}
	return zone
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// DelistEvidence is the evidence an alert about this list carries: how to
// get off it. The blocklist watch adds it to its listings; the mail watch
// can add it to its evidence of a remote refusal.
func (z *Zone) DelistEvidence() map[string]string {
	ev := map[string]string{
		"list":      z.ListName(),
		"list_name": z.Name,
		"provider":  z.Provider,
		"impact":    string(z.Impact),
	}
	if z.DelistURL != "" {
		ev["delist_url"] = z.DelistURL
	}
	if len(z.DelistSteps) > 0 {
		var b strings.Builder
		for i, s := range z.DelistSteps {
			fmt.Fprintf(&b, "%d. %s\n", i+1, s)
		}
		ev["delist_steps"] = strings.TrimSuffix(b.String(), "\n")
	}
	if z.Terms != "" {
		ev["terms"] = z.Terms
	}
	return ev
}
