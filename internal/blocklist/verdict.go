package blocklist

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/miekg/dns"
)

// Status is the verdict for one target on one zone.
type Status string

const (
	Listed  Status = "listed"
	Clear   Status = "clear"
	Unknown Status = "unknown"
)

var loopback8 = netip.MustParsePrefix("127.0.0.0/8")

// maxAnswers bounds the A records a verdict looks at: real lists answer
// with one to a few codes; hundreds mean something else answers.
const maxAnswers = 32

// maxReason bounds the TXT reason kept from an answer (a list's TXT is a
// line with a URL; a zone under someone else's control can send 64 KiB).
const maxReason = 1024

// lookup is what the resolver said to one A query.
type lookup struct {
	Rcode int          // dns.RcodeSuccess, dns.RcodeNameError, ...
	Addrs []netip.Addr // the A records of the answer section
	Other int          // answer records that are neither A nor CNAME
	Err   error        // no usable answer at all (timeout, network)
}

// lookupOf extracts what a verdict needs from a DNS answer.
func lookupOf(m *dns.Msg) lookup {
	l := lookup{Rcode: m.Rcode}
	for _, rr := range m.Answer {
		switch rr := rr.(type) {
		case *dns.A:
			if a, ok := netip.AddrFromSlice(rr.A); ok {
				l.Addrs = append(l.Addrs, a.Unmap())
			} else {
				l.Other++
			}
		case *dns.CNAME:
		default:
			l.Other++
		}
	}
	return l
}

// verdict is the meaning of one lookup for one zone.
type verdict struct {
	Status   Status
	Codes    []string // the answers, sorted
	Meanings []string // what each code (or bit) means
	Why      string   // for Unknown: "unknown, because ..."
}

func unknown(format string, args ...any) verdict {
	return verdict{Status: Unknown, Why: "unknown, because " + fmt.Sprintf(format, args...)}
}

// judge turns a lookup into a verdict. Only answers inside 127.0.0.0/8 that
// are not the zone's error codes make "listed"; everything doubtful is
// unknown with the reason, never listed.
func (z *Zone) judge(l lookup) verdict {
	if l.Err != nil {
		return unknown("the query failed: %v", l.Err)
	}
	switch l.Rcode {
	case dns.RcodeSuccess:
	case dns.RcodeNameError:
		return verdict{Status: Clear}
	default:
		return unknown("the resolver answered %s", rcodeName(l.Rcode))
	}
	if len(l.Addrs) == 0 {
		if l.Other > 0 {
			return unknown("the zone answered with %d records that are not addresses", l.Other)
		}
		return verdict{Status: Clear} // NODATA: the name exists without an address
	}
	if len(l.Addrs) > maxAnswers {
		return unknown("the zone answered with %d addresses; a blocklist answers with a few codes", len(l.Addrs))
	}
	addrs := append([]netip.Addr(nil), l.Addrs...)
	sort.Slice(addrs, func(i, j int) bool { return addrs[i].Less(addrs[j]) })
	addrs = compactAddrs(addrs)
	codes := make([]string, len(addrs))
	for i, a := range addrs {
		codes[i] = a.String()
	}
	for _, a := range addrs {
		if !a.Is4() || !loopback8.Contains(a) {
			v := unknown("the zone answered %s, outside 127.0.0.0/8: that is not a blocklist answer (the list's domain may have lapsed or been parked)", a)
			v.Codes = codes
			return v
		}
	}
	for _, a := range addrs {
		if m, ok := z.errors[a]; ok {
			v := unknown("the zone answered %s: %s", a, m)
			v.Codes = codes
			return v
		}
	}
	v := verdict{Status: Listed, Codes: codes}
	for _, a := range addrs {
		v.Meanings = append(v.Meanings, z.meanings(a)...)
	}
	return v
}

// meanings says what answer a means for this zone.
func (z *Zone) meanings(a netip.Addr) []string {
	if !z.Bitmask {
		if m, ok := z.codes[a]; ok {
			return []string{m}
		}
		return []string{fmt.Sprintf("%s: return code not documented here", a)}
	}
	o := a.As4()
	var out []string
	for bit := 0; bit < 8; bit++ {
		mask := byte(1) << bit
		if o[3]&mask == 0 {
			continue
		}
		code := netip.AddrFrom4([4]byte{o[0], o[1], o[2], mask})
		if m, ok := z.codes[code]; ok {
			out = append(out, m)
		} else {
			out = append(out, fmt.Sprintf("bit %d of %s: not documented here", mask, a))
		}
	}
	if len(out) == 0 {
		out = append(out, fmt.Sprintf("%s: no bit set, not documented here", a))
	}
	return out
}

func compactAddrs(s []netip.Addr) []netip.Addr {
	out := s[:0]
	for i, a := range s {
		if i == 0 || a != s[i-1] {
			out = append(out, a)
		}
	}
	return out
}

func rcodeName(rc int) string {
	if n, ok := dns.RcodeToString[rc]; ok {
		return n
	}
	return fmt.Sprintf("RCODE %d", rc)
}

// reasonOf joins the TXT records of an answer into the list's reason,
// bounded to maxReason bytes and made valid UTF-8. The text is the list's
// (or whoever controls the zone): it is stored as it came and escaped by
// whatever shows it.
func reasonOf(m *dns.Msg) string {
	var b strings.Builder
	for _, rr := range m.Answer {
		t, ok := rr.(*dns.TXT)
		if !ok {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(" | ")
		}
		for _, s := range t.Txt {
			b.WriteString(unescapeTXT(s))
			if b.Len() > maxReason {
				break
			}
		}
		if b.Len() > maxReason {
			break
		}
	}
	return truncate(b.String(), maxReason)
}

// unescapeTXT turns miekg/dns's presentation form of a TXT string (\" and
// \\ for quote and backslash, \DDD for any byte outside printable ASCII)
// back into the bytes the zone sent, so that UTF-8 text reads as text.
func unescapeTXT(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			if v := int(s[i+1]-'0')*100 + int(s[i+2]-'0')*10 + int(s[i+3]-'0'); v < 256 {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i+1])
		i++
	}
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// truncate cuts s to at most n bytes on a character boundary and marks the
// cut; invalid UTF-8 becomes U+FFFD.
func truncate(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	const mark = " [truncated]"
	cut := n - len(mark)
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + mark
}
