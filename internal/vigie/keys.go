package vigie

import "strings"

// BlocklistKey is the alert key for "target is listed by list", shared by
// the blocklist watch (a DNSBL answer) and the mail watch (a remote server
// refusing mail because of the listing, such as Microsoft's S3150 or a
// Spamhaus "blocked using" reply), so that both feed one alert. target is
// an IP address or a domain; list names the blocklist or the provider
// ("zen.spamhaus.org", "microsoft").
func BlocklistKey(target, list string) string {
	return blocklistKeyPrefix + target + "/" + list
}

// blocklistKeyPrefix starts every BlocklistKey.
const blocklistKeyPrefix = "blocklist/"

// IsBlocklistKey reports whether an alert key is a listing's (BlocklistKey),
// whichever watch raised it.
func IsBlocklistKey(key string) bool { return strings.HasPrefix(key, blocklistKeyPrefix) }

// ParseBlocklistKey splits a BlocklistKey into its target and list.
func ParseBlocklistKey(key string) (target, list string, ok bool) {
	rest, ok := strings.CutPrefix(key, blocklistKeyPrefix)
	if !ok {
		return "", "", false
	}
	i := strings.LastIndexByte(rest, '/')
	if i <= 0 || i == len(rest)-1 {
		return "", "", false
	}
	return rest[:i], rest[i+1:], true
}
