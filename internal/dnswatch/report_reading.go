package dnswatch

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
)

// DownloadRevertPlan is the name of the incident page's revert plan
// download (/incidents/{id}/revert-plan), the rows of RevertPlan.
const DownloadRevertPlan = "revert-plan"

// reading reads a DNS alert as the domain that changed, how long resolvers
// may keep the bad data (its TTL), the line of the revert plan and, for a
// drift, the record that changed (what the incident's DNS story counts by
// TLD and by new value).
func reading() *watch.Report {
	return &watch.Report{
		Evidence: []watch.EvidenceKey{EvidenceExpected, EvidenceObserved, EvidenceTTL, EvidenceKind, EvidenceMaxTTL, EvidenceTLD, EvidenceServer,
			EvidenceProblem, EvidenceDS, EvidenceDNSKEYs, EvidenceSigExpires,
			EvidenceLocksRemoved, EvidenceRDAPStatus, EvidenceExpires, EvidenceDaysLeft, EvidenceRegistrar, EvidenceRegistrarWas,
			EvidenceRDAPNS, EvidenceParentNS},
		Read: func(_ context.Context, a *vigie.Alert, _ func(context.Context) ([]vigie.Finding, error)) (watch.Reading, error) {
			r := watch.Reading{Domains: []string{strings.ToLower(a.Subject)}}
			if d, ok := ttlOf(EvidenceTTL.Of(a.Evidence)); ok {
				r.TTL = d
			}
			exp, obs := EvidenceExpected.Of(a.Evidence), EvidenceObserved.Of(a.Evidence)
			if exp != "" || obs != "" {
				r.Reverts = []watch.Revert{{Domain: a.Subject, Rule: a.Rule, Observed: obs, Expected: exp, Done: a.State == vigie.AlertResolved}}
			}
			if c, ok := change(a); ok {
				r.Changes = []watch.Change{c}
			}
			if n, ok := note(a); ok {
				r.Notes = []watch.Note{n}
			}
			return r, nil
		},
		Downloads: []watch.Download{{
			Name:    DownloadRevertPlan,
			Formats: []watch.Format{{Name: "csv", ContentType: "text/csv; charset=utf-8"}, {Name: "json", ContentType: "application/x-ndjson"}},
			Write: func(ctx context.Context, st store.Alerts, id int64, format string, w io.Writer) error {
				rows, err := RevertPlan(ctx, st, id)
				if err != nil {
					return err
				}
				return WriteRevertPlan(w, format, rows)
			},
		}},
	}
}

// The incident story's headings of the DNS watch's notes.
const (
	NoteTopicDNSSEC   = "DNSSEC"
	NoteTopicRegistry = "Registry (RDAP)"
)

// note reads a DNSSEC or registry (RDAP) alert as its sentence: for a
// broken chain, the domain, what is wrong, the DS at the parent and the
// DNSKEYs served (SecSummary); for the registry, the lock removed, the
// status, the expiry, the transfer or the registry's NS.
func note(a *vigie.Alert) (watch.Note, bool) {
	n := watch.Note{AlertID: a.ID, Subject: strings.ToLower(a.Subject), Severity: a.Severity, State: a.State}
	switch RuleName(a.Rule) {
	case RuleDNSSECBroken, RuleDNSSECExpiring:
		n.Topic = NoteTopicDNSSEC
		if EvidenceProblem.Of(a.Evidence) != "" {
			n.Text = SecSummary(RuleName(a.Rule), n.Subject, a.Evidence)
		}
	case RuleRDAPLockRemoved, RuleRDAPStatus, RuleRDAPExpiry, RuleRDAPRegistrar, RuleRDAPNS, RuleRDAPNotFound:
		n.Topic = NoteTopicRegistry
		n.Text = RDAPSummary(RuleName(a.Rule), n.Subject, a.Evidence)
	default:
		return n, false
	}
	if n.Text == "" {
		n.Text = a.Summary
	}
	return n, true
}

// RDAPSummary is the one-line story of a registry finding from its
// evidence; "" when the evidence does not carry it.
func RDAPSummary(rule RuleName, domain string, ev map[string]string) string {
	status := EvidenceRDAPStatus.Of(ev)
	if status == "" {
		status = "none"
	}
	switch rule {
	case RuleRDAPLockRemoved:
		if l := EvidenceLocksRemoved.Of(ev); l != "" {
			return fmt.Sprintf("registry lock removed on %s: %s no longer set (status now: %s); an NS change may follow",
				domain, strings.ReplaceAll(l, " ", ", "), status)
		}
	case RuleRDAPStatus:
		if s := EvidenceRDAPStatus.Of(ev); s != "" {
			return fmt.Sprintf("%s at the registry: status %s", domain, strings.ReplaceAll(s, " ", ", "))
		}
	case RuleRDAPExpiry:
		if e := EvidenceExpires.Of(ev); e != "" {
			return fmt.Sprintf("%s expires on %s (%s days left) and is not renewed", domain, e, EvidenceDaysLeft.Of(ev))
		}
	case RuleRDAPRegistrar:
		if r := EvidenceRegistrar.Of(ev); r != "" {
			return fmt.Sprintf("the registrar of %s changed from %s to %s: a transfer", domain, EvidenceRegistrarWas.Of(ev), r)
		}
	case RuleRDAPNS:
		if r := EvidenceRDAPNS.Of(ev); r != "" {
			return fmt.Sprintf("the registry lists %s for %s, the TLD zone serves %s", r, domain, EvidenceParentNS.Of(ev))
		}
	case RuleRDAPNotFound:
		return fmt.Sprintf("the registry's RDAP server says %s is not registered", domain)
	}
	return ""
}

// change reads a drift alert as the record that changed.
func change(a *vigie.Alert) (watch.Change, bool) {
	ev := a.Evidence
	kind := EvidenceKind.Of(ev)
	if a.Rule != string(RuleDrift) || kind == "" {
		return watch.Change{}, false
	}
	domain := strings.ToLower(a.Subject)
	c := watch.Change{AlertID: a.ID, Domain: domain, TLD: EvidenceTLD.Of(ev), Kind: kind,
		Expected: EvidenceExpected.Of(ev), Observed: EvidenceObserved.Of(ev), Server: EvidenceServer.Of(ev),
		FirstSeen: a.FirstSeen, LastSeen: a.LastSeen, State: a.State}
	for _, k := range []watch.EvidenceKey{EvidenceMaxTTL, EvidenceTTL} {
		if d, ok := ttlOf(k.Of(ev)); ok && d > c.TTL {
			c.TTL = d
		}
	}
	if c.TLD == "" {
		c.TLD = tldOf(domain)
	}
	return c, true
}

// tldOf is the last label of a domain, with the trailing dot: "fr.".
func tldOf(domain string) string {
	d := strings.TrimSuffix(domain, ".")
	if i := strings.LastIndexByte(d, '.'); i >= 0 {
		return d[i+1:] + "."
	}
	return d + "."
}

// ttlOf reads a TTL in seconds ("86400") or as a duration ("24h").
func ttlOf(s string) (time.Duration, bool) {
	if s == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	d, err := time.ParseDuration(s)
	return d, err == nil && d >= 0
}
