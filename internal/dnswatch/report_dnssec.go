package dnswatch

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/vigie"
)

// DNSSEC findings: rule names and the evidence keys the incident summary
// reads (SecSummary).
const (
	RuleDNSSECBroken   RuleName = "dnssec-broken"   // critical: validating resolvers fail for the domain
	RuleDNSSECExpiring RuleName = "dnssec-expiring" // warning: signatures expire within dns.dnssec_warn
)

const (
	EvidenceProblem    EvidenceKey = "problem"     // what is wrong, for a person
	EvidenceDS         EvidenceKey = "ds"          // the DS set at the parent, "; " between records
	EvidenceDNSKEYs    EvidenceKey = "dnskeys"     // the DNSKEYs the child serves ("tag algorithm KSK|ZSK"), "; " between
	EvidenceSigExpires EvidenceKey = "sig_expires" // RFC 3339: when the first signature relied on expires
	EvidenceServer     EvidenceKey = "server"      // the server that answered
	EvidenceTLD        EvidenceKey = "tld"         // the parent zone
)

// SecKey is the alert key of a DNSSEC finding of rule on domain.
func SecKey(rule RuleName, domain string) string { return "dns/" + string(rule) + "/" + domain }

// SecSummary is the one-line story of a DNSSEC finding from its
// evidence: the domain, what is wrong, the DS at the parent and the
// DNSKEYs the child serves, so the person on call sees the mismatch
// without a dig.
func SecSummary(rule RuleName, domain string, ev map[string]string) string {
	ds, keys := EvidenceDS.Of(ev), EvidenceDNSKEYs.Of(ev)
	if ds == "" {
		ds = "none"
	}
	if keys == "" {
		keys = "none"
	}
	switch rule {
	case RuleDNSSECExpiring:
		return fmt.Sprintf("DNSSEC signatures of %s expire on %s: %s (DS at the parent: %s; DNSKEYs: %s)",
			domain, EvidenceSigExpires.Of(ev), EvidenceProblem.Of(ev), ds, keys)
	default:
		return fmt.Sprintf("DNSSEC chain of %s is broken: %s. DS at the parent (%s): %s; DNSKEYs served by %s: %s",
			domain, EvidenceProblem.Of(ev), EvidenceTLD.Of(ev), ds, EvidenceServer.Of(ev), keys)
	}
}

// reportDNSSEC emits a finding per domain whose chain is broken or whose
// signatures expire soon.
func (r *Reporter) reportDNSSEC(ctx context.Context, m *Monitor, res *Result, recs map[string]*driftRecord, current map[string]bool, now time.Time) error {
	var firstErr error
	for _, c := range res.DNSSEC {
		rule := RuleDNSSECBroken
		sev := vigie.SeverityCritical
		if c.Status == SecExpiring {
			rule, sev = RuleDNSSECExpiring, vigie.SeverityWarning
		}
		key := SecKey(rule, c.Domain)
		current[key] = true
		val := c.Problem + "|" + strings.Join(c.DS, ",") + "|" + strings.Join(c.Keys, ",")
		rec := recs[key]
		if rec != nil && rec.Observed == val && now.Sub(rec.Emitted) < r.Refresh {
			rec.LastSeen = now
			continue
		}
		if rec == nil {
			rec = &driftRecord{Domain: c.Domain, Kind: string(rule), FirstSeen: now}
			recs[key] = rec
		}
		rec.Observed, rec.LastSeen, rec.Emitted = val, now, now
		ev := map[string]string{
			string(EvidenceProblem): c.Problem,
			string(EvidenceDS):      strings.Join(c.DS, "; "),
			string(EvidenceDNSKEYs): strings.Join(c.Keys, "; "),
			string(EvidenceServer):  c.Server,
			string(EvidenceTLD):     c.TLD,
			"first_seen":            rec.FirstSeen.Format(time.RFC3339),
		}
		if !c.Expires.IsZero() {
			ev[string(EvidenceSigExpires)] = c.Expires.UTC().Format(time.RFC3339)
		}
		// A broken chain is its own incident (a DS and a key of its own
		// disagree); signatures running out on one NS set share one (their
		// signer stopped).
		group := SecKey(rule, c.Domain)
		if i := m.find(c.Domain); i >= 0 && rule == RuleDNSSECExpiring {
			group = "dns/" + string(rule) + "/" + m.vals.value(m.domains[i].obs[KindNS])
		}
		f := vigie.Finding{Watch: WatchName, Rule: string(rule), Subject: c.Domain, Key: key, Group: group,
			Severity: sev, Time: now, ResolveAfter: -1, Evidence: ev, Summary: SecSummary(rule, c.Domain, ev)}
		if err := r.Sink.Emit(ctx, f); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

// secGone says whether a DNSSEC record no longer holds: the last full
// sweep checked the domain and found it otherwise, or the parent no
// longer serves a DS (nothing left to break; the DS drift tells).
func (m *Monitor) secGone(res *Result, i int, kind string) bool {
	if !res.Full || m.o.NoDNSSEC {
		return false
	}
	d := &m.domains[i]
	st, checked := m.sec[int32(i)]
	if !checked {
		return d.obs[KindDS] != 0 && m.vals.value(d.obs[KindDS]) == ""
	}
	switch st {
	case SecError:
		return false
	case SecBroken:
		return kind != string(RuleDNSSECBroken)
	case SecExpiring:
		return kind != string(RuleDNSSECExpiring)
	}
	return true
}
