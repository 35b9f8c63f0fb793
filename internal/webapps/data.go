package webapps

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

// DataSchema is the version of the data file format this vigie reads.
const DataSchema = 1

// Data is the version data: for each app, its release cycles (with the
// latest release and the end-of-life date of each) and the advisories that
// name vulnerable ranges of its core. It ships embedded in vigie
// (data/versions.json) and `vigie web update-data` replaces it offline.
type Data struct {
	Schema int                 `json:"schema"`
	Date   string              `json:"date"`   // YYYY-MM-DD: when the figures were compiled
	Source string              `json:"source"` // where they come from
	Notes  string              `json:"notes,omitempty"`
	Apps   map[string]*AppData `json:"apps"`
	// Extensions are the advisories on plugins, themes and modules, by
	// kind then project slug (the directory name: wordpress.org and
	// drupal.org project names, Joomla element names).
	Extensions map[ExtensionKind]map[string][]*Advisory `json:"extensions,omitempty"`

	date time.Time
}

// AppData is one application's cycles and advisories.
type AppData struct {
	Name       string      `json:"name"`
	Source     string      `json:"source,omitempty"`
	Cycles     []*Cycle    `json:"cycles"`
	Advisories []*Advisory `json:"advisories"`
}

// A Cycle is a release branch: "7" for Drupal 7, "6.8" for WordPress 6.8.
type Cycle struct {
	Cycle  string `json:"cycle"`
	Latest string `json:"latest"`
	// EOL is the day security support ended or ends (YYYY-MM-DD); empty
	// while no end is announced.
	EOL string `json:"eol,omitempty"`

	cycle, latest Version
	eol           time.Time
}

// An Advisory names the versions of a core it affects.
type Advisory struct {
	ID      string   `json:"id"`
	Aliases []string `json:"aliases,omitempty"`
	Summary string   `json:"summary"`
	Ranges  []Range  `json:"ranges"`
	// Attack names the access-log rule that exploits it, so a request
	// matching that rule on an install in these ranges is linked to it.
	Attack string `json:"attack,omitempty"`
	// URL is the advisory's record (Wordfence's licence asks for the link
	// to be kept with its data).
	URL string `json:"url,omitempty"`
}

// A Range is introduced <= v < fixed, or introduced <= v <= last_affected.
type Range struct {
	Introduced   string `json:"introduced"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty"`

	intro, fixed, last Version
	// core is the Drupal core branch ("7.x") of a contrib range: 7.x-2.5
	// and 8.x-2.5 are different releases of a module.
	core string
}

//go:embed data/versions.json
var embeddedData []byte

// EmbeddedData is the version data compiled into this vigie.
func EmbeddedData() *Data {
	d, err := ParseData(embeddedData)
	if err != nil {
		panic("webapps: embedded version data is invalid: " + err.Error())
	}
	return d
}

// DataFileName is the file update-data writes in the data directory.
const DataFileName = "web-versions.json"

// LoadData returns the data at path when it exists, else the embedded data.
func LoadData(path string) (*Data, error) {
	if path == "" {
		return EmbeddedData(), nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return EmbeddedData(), nil
	}
	if err != nil {
		return nil, err
	}
	d, err := ParseData(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (fix it or remove it to use the data built into vigie)", path, err)
	}
	return d, nil
}

// maxDataSize bounds what update-data accepts.
const maxDataSize = 64 << 20

// ParseData decodes and validates a data file: every version and date must
// parse, every range must be ordered, and the apps this package detects
// must all be present, so a truncated or foreign file is refused before it
// replaces a good one.
func ParseData(b []byte) (*Data, error) {
	if len(b) > maxDataSize {
		return nil, fmt.Errorf("version data is %d bytes, more than the %d allowed", len(b), maxDataSize)
	}
	var d Data
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("version data is not valid JSON of the expected shape: %w", err)
	}
	if d.Schema != DataSchema {
		return nil, fmt.Errorf("version data schema %d, this vigie reads schema %d", d.Schema, DataSchema)
	}
	var err error
	if d.date, err = time.Parse(time.DateOnly, d.Date); err != nil {
		return nil, fmt.Errorf("version data date %q: expected YYYY-MM-DD", d.Date)
	}
	if strings.TrimSpace(d.Source) == "" {
		return nil, errors.New("version data has no source")
	}
	var errs []error
	for _, id := range AppIDs() {
		if d.Apps[id] == nil {
			errs = append(errs, fmt.Errorf("app %s is missing", id))
		}
	}
	for id, a := range d.Apps {
		if a == nil {
			continue
		}
		for _, c := range a.Cycles {
			var ok bool
			if c.cycle, ok = ParseVersion(c.Cycle); !ok {
				errs = append(errs, fmt.Errorf("%s: cycle %q is not a version", id, c.Cycle))
			}
			if c.latest, ok = ParseVersion(c.Latest); !ok {
				errs = append(errs, fmt.Errorf("%s %s: latest %q is not a version", id, c.Cycle, c.Latest))
			} else if !c.latest.HasPrefix(c.cycle) {
				errs = append(errs, fmt.Errorf("%s %s: latest %q is not in the cycle", id, c.Cycle, c.Latest))
			}
			if c.EOL != "" {
				if c.eol, err = time.Parse(time.DateOnly, c.EOL); err != nil {
					errs = append(errs, fmt.Errorf("%s %s: eol %q: expected YYYY-MM-DD", id, c.Cycle, c.EOL))
				}
			}
		}
		// Longest cycles first, so 10.2 wins over 10 when both are listed.
		sort.SliceStable(a.Cycles, func(i, j int) bool { return len(a.Cycles[i].cycle.Nums) > len(a.Cycles[j].cycle.Nums) })
		for _, adv := range a.Advisories {
			if adv.ID == "" || len(adv.Ranges) == 0 {
				errs = append(errs, fmt.Errorf("%s: advisory %q has no id or no range", id, adv.ID))
				continue
			}
			for i := range adv.Ranges {
				if err := adv.Ranges[i].parse(); err != nil {
					errs = append(errs, fmt.Errorf("%s %s: %w", id, adv.ID, err))
				}
			}
		}
	}
	for kind, projects := range d.Extensions {
		switch kind {
		case KindWPPlugin, KindWPTheme, KindDrupal, KindJoomla:
		default:
			errs = append(errs, fmt.Errorf("extensions: unknown kind %q", kind))
			continue
		}
		for slug, advs := range projects {
			for _, adv := range advs {
				if adv == nil || adv.ID == "" || len(adv.Ranges) == 0 {
					errs = append(errs, fmt.Errorf("%s %s: an advisory has no id or no range", kind, slug))
					continue
				}
				for i := range adv.Ranges {
					if err := adv.Ranges[i].parseExt(kind); err != nil {
						errs = append(errs, fmt.Errorf("%s %s %s: %w", kind, slug, adv.ID, err))
					}
				}
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("version data: %w", err)
	}
	return &d, nil
}

// parseExt parses an extension range; Drupal contrib versions carry
// their core branch ("7.x-2.6"), which must be the same on both ends.
func (r *Range) parseExt(kind ExtensionKind) error {
	if kind != KindDrupal {
		return r.parse()
	}
	cores := map[string]bool{}
	for _, v := range []string{r.Introduced, r.Fixed, r.LastAffected} {
		if c := drupalCore(v); c != "" {
			cores[c] = true
		}
	}
	if len(cores) > 1 {
		return fmt.Errorf("range %s..%s%s spans two core branches", r.Introduced, r.Fixed, r.LastAffected)
	}
	for c := range cores {
		r.core = c
	}
	orig := *r
	r.Introduced, r.Fixed, r.LastAffected = stripDrupalCore(r.Introduced), stripDrupalCore(r.Fixed), stripDrupalCore(r.LastAffected)
	err := r.parse()
	r.Introduced, r.Fixed, r.LastAffected = orig.Introduced, orig.Fixed, orig.LastAffected
	return err
}

// ExtensionAdvisories returns the ids of the advisories on the extension
// kind/slug whose ranges contain version.
func (d *Data) ExtensionAdvisories(kind ExtensionKind, slug, version string) []string {
	if d == nil || version == "" {
		return nil
	}
	advs := d.Extensions[kind][slug]
	if len(advs) == 0 {
		return nil
	}
	core := ""
	if kind == KindDrupal {
		core = drupalCore(version)
		version = stripDrupalCore(version)
	}
	v, ok := ParseVersion(version)
	if !ok {
		return nil
	}
	var ids []string
	for _, adv := range advs {
		for i := range adv.Ranges {
			r := &adv.Ranges[i]
			if r.core != "" && core != "" && r.core != core {
				continue
			}
			if r.Contains(v) {
				ids = append(ids, adv.ID)
				break
			}
		}
	}
	return ids
}

func (r *Range) parse() error {
	var ok bool
	if r.intro, ok = ParseVersion(r.Introduced); !ok {
		return fmt.Errorf("introduced %q is not a version", r.Introduced)
	}
	switch {
	case r.Fixed != "" && r.LastAffected != "":
		return errors.New("a range has fixed or last_affected, not both")
	case r.Fixed != "":
		if r.fixed, ok = ParseVersion(r.Fixed); !ok {
			return fmt.Errorf("fixed %q is not a version", r.Fixed)
		}
		if r.fixed.Compare(r.intro) <= 0 {
			return fmt.Errorf("fixed %s is not after introduced %s", r.Fixed, r.Introduced)
		}
	case r.LastAffected != "":
		if r.last, ok = ParseVersion(r.LastAffected); !ok {
			return fmt.Errorf("last_affected %q is not a version", r.LastAffected)
		}
		if r.last.Compare(r.intro) < 0 {
			return fmt.Errorf("last_affected %s is before introduced %s", r.LastAffected, r.Introduced)
		}
	default:
		return errors.New("a range needs fixed or last_affected")
	}
	return nil
}

// Contains reports whether v is in the range.
func (r *Range) Contains(v Version) bool {
	if v.Compare(r.intro) < 0 {
		return false
	}
	if r.Fixed != "" {
		return v.Compare(r.fixed) < 0
	}
	return v.Compare(r.last) <= 0
}

// Time is the data date.
func (d *Data) Time() time.Time { return d.date }

// Age is how old the data is at now.
func (d *Data) Age(now time.Time) time.Duration { return now.Sub(d.date) }

// Encode renders the data as the file update-data writes.
func (d *Data) Encode() ([]byte, error) {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// DataFileInfo reports whether a data file exists at path.
func DataFileInfo(path string) (bool, error) {
	_, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}
