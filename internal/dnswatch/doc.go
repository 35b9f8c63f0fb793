// Package dnswatch watches the delegations of thousands to millions of
// domains from the parent side (the TLD servers' own referrals: NS, glue,
// DS) and their records from the child side (A, AAAA, MX, SPF, DMARC,
// CAA), compares both with an expected state (the inventory file, else a
// baseline learned on first use), and reports each drift as a finding.
// Findings that share the same new value (one rogue NS set) share a group,
// so the alert pipeline raises one incident for the whole attack.
//
// Resolvers are not asked: they serve cached, child-side data and lag a
// change at the registry by the TTL. The parent servers are asked
// directly, without recursion, through a pipelined client that keeps many
// queries in flight on a few UDP sockets.
package dnswatch
