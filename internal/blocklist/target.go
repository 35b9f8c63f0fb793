package blocklist

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// A Target is what is looked up: an IP address or a domain.
type Target struct {
	Name   string     // the address in canonical form, or the lower-case domain
	Addr   netip.Addr // valid for an IP target
	Source string     // where it came from: "interface eth0", "postfix smtp_bind_address", "config", "argument"
}

// IsIP reports whether the target is an address.
func (t Target) IsIP() bool { return t.Addr.IsValid() }

// ParseTarget reads an IP address (IPv4, IPv6, IPv4-mapped IPv6 taken as
// IPv4) or a domain name (letters, digits, hyphens and underscores, as
// found in real names; a trailing dot is dropped).
func ParseTarget(s string) (Target, error) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return Target{}, fmt.Errorf("%q: an address with a zone (%%%s) is link-local, never a sending address", s, a.Zone())
		}
		a = a.Unmap()
		return Target{Name: a.String(), Addr: a}, nil
	}
	d := strings.TrimSuffix(strings.ToLower(s), ".")
	if err := checkDomain(d); err != nil {
		return Target{}, fmt.Errorf("%q is neither an IP address nor a domain name: %w", s, err)
	}
	return Target{Name: d}, nil
}

func checkDomain(d string) error {
	if d == "" {
		return errors.New("empty")
	}
	if len(d) > 253 {
		return errors.New("longer than 253 characters")
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" {
			return errors.New("empty label")
		}
		if len(label) > 63 {
			return errors.New("a label is longer than 63 characters")
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return errors.New("a label starts or ends with a hyphen")
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("character %q is not allowed (use the xn-- form of internationalised names)", c)
			}
		}
	}
	return nil
}

// queryName is the name to look up target t in zone: reversed octets for
// IPv4, reversed nibbles for IPv6 (RFC 5782), the domain itself for a
// domain list. It ends with a dot.
func queryName(t Target, zone string) (string, error) {
	var b strings.Builder
	switch {
	case t.Addr.Is4():
		o := t.Addr.As4()
		fmt.Fprintf(&b, "%d.%d.%d.%d.", o[3], o[2], o[1], o[0])
	case t.Addr.Is6():
		o := t.Addr.As16()
		const hex = "0123456789abcdef"
		for i := 15; i >= 0; i-- {
			b.WriteByte(hex[o[i]&0xf])
			b.WriteByte('.')
			b.WriteByte(hex[o[i]>>4])
			b.WriteByte('.')
		}
	default:
		b.WriteString(t.Name)
		b.WriteByte('.')
	}
	b.WriteString(zone)
	b.WriteByte('.')
	name := b.String()
	if len(name) > 254 { // 253 characters plus the root dot
		return "", fmt.Errorf("%s.%s is longer than a DNS name may be", t.Name, zone)
	}
	return name, nil
}
