package webapps

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
)

// Rules of an install's findings (InstallFindings).
const (
	RuleInstallVulnerable watch.RuleName = "install-vulnerable" // a version with known advisories
	RuleInstallAbandoned  watch.RuleName = "install-abandoned"
	RuleInstallEOL        watch.RuleName = "install-eol"
	RuleInstallOutdated   watch.RuleName = "install-outdated"
	RuleInstallUnknown    watch.RuleName = "install-unknown"
	RuleConfigReadable    watch.RuleName = "config-readable" // its secret config files readable by other users
)

// InstallFindings are the findings one install deserves: its status when
// it matters, and its secret config files readable by other users. All of
// one owner's findings share an incident (OwnerGroup), because the owner is
// who must act. The watch resolves them itself when they stop holding.
func InstallFindings(in *Install, now time.Time) []vigie.Finding {
	var out []vigie.Finding
	ev := map[string]string{
		string(EvidencePath): in.Path, string(EvidenceApp): in.Name, string(EvidenceVersion): in.Version,
		string(EvidenceOwner): in.Owner, string(EvidenceUID): strconv.Itoa(in.UID),
		string(EvidenceStatus): string(in.Status), "code_modified": in.CodeModified.UTC().Format(time.RFC3339),
	}
	if !in.ContentModified.IsZero() {
		ev["content_modified"] = in.ContentModified.UTC().Format(time.RFC3339)
	}
	if in.Latest != "" {
		ev[string(EvidenceLatest)] = in.Latest
	}
	if in.EOL != "" {
		ev["eol"] = in.EOL
	}
	if len(in.Advisories) > 0 {
		ev[string(EvidenceAdvisories)] = strings.Join(in.Advisories, ", ")
	}
	if len(in.Problems) > 0 {
		ev["problems"] = strings.Join(in.Problems, "; ")
	}
	vulnExt := in.VulnerableExtensions()
	if len(vulnExt) > 0 {
		ev["extensions"] = strings.Join(vulnExt, "; ")
	}
	mk := func(rule watch.RuleName, sev vigie.Severity, summary string) vigie.Finding {
		e := make(map[string]string, len(ev))
		for k, v := range ev {
			e[k] = v
		}
		return vigie.Finding{Watch: string(Name), Rule: string(rule), Subject: in.Path, Group: OwnerGroup(in.UID),
			Severity: sev, Time: now, Summary: summary, Evidence: e, ResolveAfter: -1}
	}
	app := in.Name + " " + in.Version
	switch in.Status {
	case StatusVulnerable:
		s := fmt.Sprintf("%s at %s (owner %s) is vulnerable: %s", app, in.Path, in.Owner, strings.Join(in.Advisories, ", "))
		if len(vulnExt) > 0 {
			s += " (through " + strings.Join(vulnExt, "; ") + ")"
		}
		if in.Abandoned {
			s += "; and abandoned (no change since " + in.LastModified().Format(time.DateOnly) + ")"
		}
		out = append(out, mk(RuleInstallVulnerable, vigie.SeverityCritical, s))
	case StatusAbandoned:
		out = append(out, mk(RuleInstallAbandoned, vigie.SeverityWarning, fmt.Sprintf(
			"%s at %s (owner %s) looks abandoned: not current and no change since %s", app, in.Path, in.Owner, in.LastModified().Format(time.DateOnly))))
	case StatusEOL:
		out = append(out, mk(RuleInstallEOL, vigie.SeverityWarning, fmt.Sprintf(
			"%s at %s (owner %s) is end-of-life (cycle %s ended %s): no more security fixes", app, in.Path, in.Owner, in.Cycle, in.EOL)))
	case StatusOutdated:
		out = append(out, mk(RuleInstallOutdated, vigie.SeverityInfo, fmt.Sprintf(
			"%s at %s (owner %s) is outdated: %s is out", app, in.Path, in.Owner, in.Latest)))
	case StatusUnknown:
		if in.Version == "" {
			out = append(out, mk(RuleInstallUnknown, vigie.SeverityInfo, fmt.Sprintf(
				"%s at %s (owner %s): version unreadable", in.Name, in.Path, in.Owner)))
		}
	}
	for _, p := range in.ReadableSecrets {
		f := mk(RuleConfigReadable, vigie.SeverityWarning, fmt.Sprintf(
			"%s holds the passwords of %s at %s and every local user can read it (chmod o-r)", p, in.Name, in.Path))
		f.Subject = p
		out = append(out, f)
	}
	return out
}
