package webapps

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// An Install is one application found on disk.
type Install struct {
	Path    string `json:"path"`
	App     string `json:"app"`
	Name    string `json:"name"`
	Version string `json:"version"`
	Status  Status `json:"status"`
	// Advisories are the ids of the known advisories this install is
	// exposed to (never null in JSON, so consumers can range over it).
	Advisories []string `json:"advisories"`
	Owner      string   `json:"owner"`
	UID        int      `json:"uid"`

	VersionFile     string `json:"version_file,omitempty"`
	ComposerVersion string `json:"composer_version,omitempty"`
	Cycle           string `json:"cycle,omitempty"`
	Latest          string `json:"latest,omitempty"`
	EOL             string `json:"eol,omitempty"`
	Abandoned       bool   `json:"abandoned"`
	// CodeModified is the newest modification time of the version file and
	// markers: it moves when the app is upgraded.
	CodeModified time.Time `json:"code_modified"`
	// ContentModified is the newest modification time found in the
	// directories users write to (uploads, data); zero if it has none.
	ContentModified time.Time `json:"content_modified,omitzero"`
	// ReadableSecrets are config files holding passwords or keys that
	// every local user can read.
	ReadableSecrets []string `json:"readable_secrets,omitempty"`
	// Problems say what could not be read or does not add up.
	Problems []string `json:"problems,omitempty"`
	// Extensions are its plugins, themes and modules with their versions
	// and the advisories they are exposed to.
	Extensions []Extension `json:"extensions,omitempty"`
}

// VulnerableExtensions lists the extensions with advisories, as
// "wordpress-plugin backwpup 4.0.2 (CVE-2023-5775)".
func (in *Install) VulnerableExtensions() []string {
	var out []string
	for _, e := range in.Extensions {
		if len(e.Advisories) > 0 {
			out = append(out, fmt.Sprintf("%s %s %s (%s)", e.Kind, e.Slug, e.Version, strings.Join(e.Advisories, ", ")))
		}
	}
	return out
}

// LastModified is the newest of code and content modification.
func (in *Install) LastModified() time.Time {
	if in.ContentModified.After(in.CodeModified) {
		return in.ContentModified
	}
	return in.CodeModified
}

// rate fills the status fields from the data at now.
func (in *Install) rate(d *Data, now time.Time, abandonedAfter time.Duration) {
	in.Status, in.Advisories = StatusUnknown, in.Advisories[:0:0]
	exposures := in.Advisories
	if d != nil && in.Version != "" {
		v := d.Rate(in.App, in.Version, now)
		in.Status, in.Cycle, in.Latest, in.EOL = v.Status, v.Cycle, v.Latest, v.EOL
		exposures = append(exposures, v.Advisories...)
	}
	in.Advisories = append(exposures, in.extraAdvisories()...)
	for i := range in.Extensions {
		e := &in.Extensions[i]
		e.Advisories = d.ExtensionAdvisories(e.Kind, e.Slug, e.Version)
		for _, id := range e.Advisories {
			if !slices.Contains(in.Advisories, id) {
				in.Advisories = append(in.Advisories, id)
			}
		}
	}
	if len(in.Advisories) > 0 {
		in.Status = StatusVulnerable
	}
	last := in.LastModified()
	in.Abandoned = abandonedAfter > 0 && in.Status != StatusCurrent && !last.IsZero() && now.Sub(last) > abandonedAfter
	if in.Abandoned && in.Status != StatusVulnerable {
		in.Status = StatusAbandoned
	}
	if in.Advisories == nil {
		in.Advisories = []string{}
	}
}

// extraAdvisories are exposures found on disk rather than from the version
// (a bundled PHPUnit eval-stdin.php).
func (in *Install) extraAdvisories() []string {
	var out []string
	for _, p := range in.Problems {
		if p == problemEvalStdin {
			out = append(out, "CVE-2017-9841")
		}
	}
	return out
}

const problemEvalStdin = "vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php reads php://input: remote code execution (CVE-2017-9841) if vendor/ is served"
