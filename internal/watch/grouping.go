package watch

import (
	"strings"

	"github.com/vigie/vigie/internal/vigie"
)

// The grouping strategies the watches' descriptors use (Grouping.Key and
// Grouping.Domains), here so that the alert pipeline's rules and the
// watches share them.

// AccountKey groups a finding by its subject, an account (rule 2): the
// SASL user name or "uid:N". "" when the subject is empty.
func AccountKey(f *vigie.Finding) string {
	if f.Subject != "" {
		return AccountGroup(f.Subject)
	}
	return ""
}

// UIDOrSiteKey groups a finding by the uid in its evidence (joining that
// uid's mail account, "uid:N"), else by its subject, a site (rule 3).
func UIDOrSiteKey(uid EvidenceKey) func(f *vigie.Finding) string {
	return func(f *vigie.Finding) string {
		if u := strings.TrimSpace(uid.Of(f.Evidence)); u != "" {
			return AccountGroup("uid:" + u)
		}
		if f.Subject != "" {
			return SiteGroup(f.Subject)
		}
		return ""
	}
}

// SubjectDomain is the domain an alert is about: its subject.
func SubjectDomain(a *vigie.Alert) []string {
	if a.Subject == "" {
		return nil
	}
	return []string{a.Subject}
}

// NamesIn reads the domains an alert is about from its subject and the
// evidence keys, each a list of names separated by commas or white
// space; a wildcard stands for its parent.
func NamesIn(keys ...EvidenceKey) func(a *vigie.Alert) []string {
	return func(a *vigie.Alert) []string {
		var out []string
		add := func(s string) {
			for _, n := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' }) {
				if n = strings.TrimPrefix(n, "*."); n != "" {
					out = append(out, n)
				}
			}
		}
		add(a.Subject)
		for _, k := range keys {
			add(k.Of(a.Evidence))
		}
		return out
	}
}
