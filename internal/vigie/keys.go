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

// IsBlocklistKey reports whether key was made by BlocklistKey.
func IsBlocklistKey(key string) bool { return strings.HasPrefix(key, blocklistKeyPrefix) }

// SplitBlocklistKey returns the target and list a BlocklistKey was made
// of; ok is false for any other key.
func SplitBlocklistKey(key string) (target, list string, ok bool) {
	rest, ok := strings.CutPrefix(key, blocklistKeyPrefix)
	if !ok {
		return "", "", false
	}
	i := strings.LastIndex(rest, "/")
	if i <= 0 {
		return "", "", false
	}
	return rest[:i], rest[i+1:], true
}
