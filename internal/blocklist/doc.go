// Package blocklist is the blocklist watch: it looks the server's sending
// addresses and domains up on DNS blocklists (DNSBL, RHSBL), alerts when a
// listing appears or goes away, and hands the admin the list's delisting
// steps.
//
// The lists are data (zones.yaml, compiled in, extended by a site's file):
// return codes and their meaning, error codes, test entries, terms of use,
// delisting URL and steps, and the dead lists that are never queried.
//
// A verdict is listed, clear or unknown. Only an answer inside
// 127.0.0.0/8 that is not one of the list's error codes is a listing, and
// only from a zone that passed its health check this round (its "listed"
// test entry is listed, its "clear" one is not). Everything else (error
// codes such as Spamhaus' 127.255.255.254, answers outside 127/8 from a
// lapsed or parked domain, a zone listing everything, SERVFAIL, REFUSED,
// timeouts) is unknown with the reason, never listed.
//
// # Alert keys
//
//   - rule "listed": Key vigie.BlocklistKey(target, zone), for example
//     "blocklist/203.0.113.7/zen.spamhaus.org"; Group "blocklist/<target>";
//     severity from the list's impact (high: critical, medium: warning,
//     low: info); evidence: target, zone, codes, meanings, reason (the
//     list's TXT), list, list_name, provider, impact, delist_url,
//     delist_steps (numbered lines), terms. Resolved by the watch itself
//     when the zone answers clear (ResolveAfter is negative).
//   - rule "zone-unusable": Key "blocklist/zone-unusable/<zone>", Group
//     "blocklist/zones", severity warning: the zone failed its health
//     check (refused resolver, dead list); resolved when it passes again.
//
// The mail watch reports remote refusals (Microsoft's S3150, a Spamhaus
// "blocked using" reply) with vigie.BlocklistKey(target, list). To meet
// this watch's listing in one alert, the list part must be the entry's
// ListName(): Catalog.Delisting(provider, target) finds the entry from a
// name seen in a bounce ("microsoft", "S3150", "outlook.com", "spamhaus",
// "sbl.spamhaus.org") and Zone.DelistEvidence() gives the same delisting
// evidence this watch attaches. Microsoft's list is not a DNSBL: its entry
// (kind none, ListName "microsoft") is never queried and exists for its
// delisting steps.
package blocklist
