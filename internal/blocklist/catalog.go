package blocklist

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// DefaultData is the built-in zone data file (zones.yaml): the lists vigie
// knows, their codes, terms and delisting steps.
//
//go:embed zones.yaml
var DefaultData []byte

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
		if z == nil { // "zones:\n  -": an empty list item (found by FuzzData)
			errs = append(errs, fmt.Errorf("%s: zones[%d] is empty", name, i))
			continue
		}
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

// DelistingFor is Delisting in the shape the mail watch asks it
// (mail.DelistingFunc): the list name to key its remote-refusal alert by,
// and the delisting evidence to put in it.
func (c *Catalog) DelistingFor(provider, target string) (listName string, evidence map[string]string, ok bool) {
	z, ok := c.Delisting(provider, target)
	if !ok {
		return "", nil, false
	}
	return z.ListName(), z.DelistEvidence(), true
}
