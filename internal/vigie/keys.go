package vigie

// BlocklistKey is the alert key for "target is listed by list", shared by
// the blocklist watch (a DNSBL answer) and the mail watch (a remote server
// refusing mail because of the listing, such as Microsoft's S3150 or a
// Spamhaus "blocked using" reply), so that both feed one alert. target is
// an IP address or a domain; list names the blocklist or the provider
// ("zen.spamhaus.org", "microsoft").
func BlocklistKey(target, list string) string {
	return "blocklist/" + target + "/" + list
}
