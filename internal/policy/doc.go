// Package policy is vigie's Postfix SMTP access policy delegation server
// (Postfix's SMTPD_POLICY_README): Postfix asks it about each message, it
// answers DUNNO, or DEFER_IF_PERMIT / HOLD / REJECT for an account over its
// sending limits or suspended. It keeps per-account windows in memory,
// persisted every second, records which account queued which message, and
// contains an account the mail watch says is compromised.
//
// Nothing on the answer path waits for the store: a decision is a map
// lookup and a few counters under a shard lock, and when vigie cannot
// decide in time it answers DUNNO (fail-open) and counts it.
package policy
