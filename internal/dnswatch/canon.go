package dnswatch

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/miekg/dns"

	"github.com/vigie/vigie/internal/dnsname"
)

// maxValueLen bounds one canonical value: a hostile server can answer
// with 64 KiB of TXT, and millions of those must not fill the memory.
// Longer values are kept as their length and SHA-256, which still
// compares exactly.
const maxValueLen = 2048

// joinValues is the canonical form of a set: sorted, without duplicates,
// joined by ", ". The empty set is "".
func joinValues(vs []string) string {
	vs = dnsname.SortedUnique(vs)
	s := strings.Join(vs, ", ")
	if len(s) > maxValueLen {
		sum := sha256.Sum256([]byte(s))
		return fmt.Sprintf("(%d bytes, sha256 %s)", len(s), hex.EncodeToString(sum[:]))
	}
	return s
}

// splitValues is the inverse of joinValues for name lists (NS sets),
// which never contain ", ".
func splitValues(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, ", ")
}

func canonName(n string) string { return strings.ToLower(dns.Fqdn(n)) }

// txtString joins a TXT record's strings as RFC 7208 says (no separator)
// and quotes the result Go-style, so that whatever bytes a server sent
// stay on one line and unambiguous.
func txtString(t *dns.TXT) string {
	return strconv.Quote(txtJoined(t))
}

func txtJoined(t *dns.TXT) string {
	var b strings.Builder
	for _, s := range t.Txt {
		b.WriteString(unescapeTXT(s))
	}
	return b.String()
}

// unescapeTXT undoes miekg/dns's presentation escapes (\DDD and \X),
// which it applies to TXT strings read from the wire, so that the value
// compared and shown is the bytes the server sent.
func unescapeTXT(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b = append(b, c)
			continue
		}
		if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			n := int(s[i+1]-'0')*100 + int(s[i+2]-'0')*10 + int(s[i+3]-'0')
			if n <= 255 {
				b = append(b, byte(n))
				i += 3
				continue
			}
		}
		b = append(b, s[i+1])
		i++
	}
	return string(b)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// rdataString is one record's canonical form for its kind.
func rdataString(rr dns.RR) string {
	switch r := rr.(type) {
	case *dns.NS:
		return canonName(r.Ns)
	case *dns.A:
		return r.A.String()
	case *dns.AAAA:
		return r.AAAA.String()
	case *dns.MX:
		return fmt.Sprintf("%d %s", r.Preference, canonName(r.Mx))
	case *dns.TXT:
		return txtString(r)
	case *dns.CAA:
		return fmt.Sprintf("%d %s %s", r.Flag, strconv.Quote(r.Tag), strconv.Quote(r.Value))
	case *dns.DS:
		return fmt.Sprintf("%d %d %d %s", r.KeyTag, r.Algorithm, r.DigestType, strings.ToUpper(r.Digest))
	case *dns.CNAME:
		return "CNAME " + canonName(r.Target)
	}
	return strconv.Quote(rr.String())
}
