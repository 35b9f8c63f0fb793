// Package ct is the Certificate Transparency watch: it tails RFC 6962 and
// static-ct-api logs, verifies every signed tree head and every entry it
// downloads against it, parses certificates and precertificates, and
// matches their names against a watchlist of domains (millions of them, by
// hashing each name's label suffixes). A certificate for a watched domain
// becomes a finding; a log that serves entries its signed head does not
// commit to becomes an alert.
package ct
