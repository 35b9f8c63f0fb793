package dnswatch

import "github.com/vigie/vigie/internal/watch"

// RuleName is the name of one of the DNS watch's rules (vigie.Finding.Rule).
type RuleName = watch.RuleName

// EvidenceKey is a key of the DNS watch's findings' evidence that other
// parts of vigie read.
type EvidenceKey = watch.EvidenceKey

// Rules of the DNS watch's delegation and record sweeps.
const (
	// RuleDrift: a record moved away from the baseline (evidence: kind,
	// expected, observed, ttl, max_ttl, tld, server).
	RuleDrift RuleName = "drift"
	// RuleParentDisagree: the parent zone's servers disagree on a
	// delegation.
	RuleParentDisagree RuleName = "parent-disagree"
	// RuleParentSerialSplit: the parent zone's servers serve different
	// serials.
	RuleParentSerialSplit RuleName = "parent-serial-split"
)

// Evidence keys of a drift that the revert plan and the incident's DNS
// story read (with EvidenceExpected, EvidenceObserved, EvidenceTTL,
// EvidenceTLD and EvidenceServer).
const (
	EvidenceKind   EvidenceKey = "kind"    // ns, ds, a, mx, spf...
	EvidenceMaxTTL EvidenceKey = "max_ttl" // the longest TTL the changed data was served with
)
