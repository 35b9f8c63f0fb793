package incident

import "strings"

// tldOf is the last label of a domain, with the trailing dot ("fr."), as
// the DNS watch writes it in a drift's evidence.
func tldOf(domain string) string {
	d := strings.TrimSuffix(domain, ".")
	if i := strings.LastIndexByte(d, '.'); i >= 0 {
		return d[i+1:] + "."
	}
	return d + "."
}
