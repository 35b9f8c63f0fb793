package blocklist

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
)

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

// Evidence keys of a listing that the incident report and the dashboard
// read, whichever watch raised the alert (the mail watch copies them into
// its remote refusals).
const (
	EvidenceList        watch.EvidenceKey = "list"
	EvidenceListName    watch.EvidenceKey = "list_name"
	EvidenceProvider    watch.EvidenceKey = "provider"
	EvidenceImpact      watch.EvidenceKey = "impact"
	EvidenceDelistURL   watch.EvidenceKey = "delist_url"
	EvidenceDelistSteps watch.EvidenceKey = "delist_steps" // numbered, one step a line
	EvidenceTerms       watch.EvidenceKey = "terms"
	// EvidenceRefusals is how many remote refusals named the list so far:
	// the mail watch writes it on its remote-refusal findings.
	EvidenceRefusals watch.EvidenceKey = "refusals"
)

// DelistEvidence is the evidence an alert about this list carries: how to
// get off it. The blocklist watch adds it to its listings; the mail watch
// can add it to its evidence of a remote refusal.
func (z *Zone) DelistEvidence() map[string]string {
	ev := map[string]string{
		string(EvidenceList):     z.ListName(),
		string(EvidenceListName): z.Name,
		string(EvidenceProvider): z.Provider,
		string(EvidenceImpact):   string(z.Impact),
	}
	if z.DelistURL != "" {
		ev[string(EvidenceDelistURL)] = z.DelistURL
	}
	if len(z.DelistSteps) > 0 {
		var b strings.Builder
		for i, s := range z.DelistSteps {
			fmt.Fprintf(&b, "%d. %s\n", i+1, s)
		}
		ev[string(EvidenceDelistSteps)] = strings.TrimSuffix(b.String(), "\n")
	}
	if z.Terms != "" {
		ev[string(EvidenceTerms)] = z.Terms
	}
	return ev
}
