package mailqueue

// ValidQueueID reports whether id looks like a Postfix queue id: short
// (hexadecimal) or long (base 52 with a "z" separator) form, letters and
// digits only. It refuses "ALL" and anything starting with "-", which
// postsuper would read as "every message" or as "read ids from stdin".
func ValidQueueID(id string) bool {
	if len(id) < 5 || len(id) > 32 || id == "ALL" {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return false
		}
	}
	return true
}
