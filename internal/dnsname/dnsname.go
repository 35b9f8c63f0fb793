// Package dnsname reads the DNS names and server addresses vigie's
// configuration holds: an inventory line ("domain ns1,ns2"), a host name, a
// name server's address. It is a leaf: the config checks its values with
// it, and the DNS watch reads its inventory with it, without config
// importing the watch.
package dnsname

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// An Entry is one line of the domain inventory: a domain and, optionally,
// the name servers the registrar expects it to be delegated to.
type Entry struct {
	Name string   // lower case, fully qualified ("example.org.")
	NS   []string // expected NS, lower case, fully qualified, sorted; nil: learn them
}

// ParseEntry parses one inventory line: "domain" or "domain ns1,ns2".
func ParseEntry(line string) (Entry, error) {
	fields := strings.Fields(line)
	if len(fields) == 0 || len(fields) > 2 {
		return Entry{}, fmt.Errorf("expected \"domain\" or \"domain ns1,ns2\", got %q", truncate(line, 80))
	}
	name, err := CanonicalName(fields[0])
	if err != nil {
		return Entry{}, err
	}
	if dns.CountLabel(name) < 2 {
		return Entry{}, fmt.Errorf("%q is a top-level domain: list the domains under it", fields[0])
	}
	e := Entry{Name: name}
	if len(fields) == 2 {
		for _, ns := range strings.Split(fields[1], ",") {
			if ns == "" {
				continue
			}
			n, err := CanonicalName(ns)
			if err != nil {
				return Entry{}, fmt.Errorf("name server of %s: %w", name, err)
			}
			e.NS = append(e.NS, n)
		}
		if len(e.NS) == 0 {
			return Entry{}, fmt.Errorf("%s: empty name server list", name)
		}
		e.NS = SortedUnique(e.NS)
	}
	return e, nil
}

// CanonicalName returns name in lower case, fully qualified, or an error
// if it is not a host name in ASCII (IDNs are written in punycode).
func CanonicalName(name string) (string, error) {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 0x80 || c <= ' ' || c == '\\' {
			return "", fmt.Errorf("%q is not a domain name in ASCII (write IDNs as xn--...)", truncate(name, 80))
		}
		// Host names: letters, digits, hyphens (and underscores, seen in
		// service names); anything else (a comma, a quote) is a typo or
		// worse.
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return "", fmt.Errorf("%q is not a valid domain name: %q is not allowed in a host name", truncate(name, 80), c)
		}
	}
	name = strings.ToLower(dns.Fqdn(name))
	if _, ok := dns.IsDomainName(name); !ok || name == "." || strings.HasPrefix(name, ".") || strings.Contains(name, "..") {
		return "", fmt.Errorf("%q is not a valid domain name", truncate(name, 80))
	}
	return name, nil
}

// ParseServer reads "host:port" or a bare address (port 53), IPv4 or IPv6
// ("[2001:db8::1]:53").
func ParseServer(s string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
	}
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return netip.AddrPortFrom(a.Unmap(), 53), nil
	}
	host, port, err := net.SplitHostPort(s)
	if err == nil {
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return netip.AddrPort{}, fmt.Errorf("%q: port %q is not a number from 0 to 65535", s, port)
		}
		return netip.AddrPort{}, fmt.Errorf("%q: %q is not an IP address (name servers are given by address)", s, host)
	}
	return netip.AddrPort{}, fmt.Errorf("%q is not an address such as 192.0.2.1:53 or [2001:db8::1]:53", s)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// SortedUnique sorts vs in place and drops repeats: the canonical form of
// a set of names (an NS set, the DS of a delegation).
func SortedUnique(vs []string) []string {
	slices.Sort(vs)
	return slices.Compact(vs)
}
