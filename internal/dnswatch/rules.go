package dnswatch

// RuleName is the name of one of the DNS watch's rules (vigie.Finding.Rule).
type RuleName string

// EvidenceKey is a key of the DNS watch's findings' evidence that other
// parts of vigie read.
type EvidenceKey string
