package blocklist

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// Targets says what to check: the configured addresses, or the machine's
// public sending addresses found by Discovery, plus extra addresses and
// domains.
type Targets struct {
	IPs       []string // when set, replace discovery
	ExtraIPs  []string
	Domains   []string
	Discovery *Discovery
}

// Resolve returns the targets, deduplicated, and notes for the log
// (addresses skipped and why).
func (s *Targets) Resolve(ctx context.Context) ([]Target, []string, error) {
	var out []Target
	var notes []string
	seen := map[string]bool{}
	add := func(t Target) {
		if !seen[t.Name] {
			seen[t.Name] = true
			out = append(out, t)
		}
	}
	parse := func(list []string, source string, wantIP bool) error {
		for _, s := range list {
			t, err := ParseTarget(s)
			if err != nil {
				return fmt.Errorf("%s: %w", source, err)
			}
			if t.IsIP() != wantIP {
				return fmt.Errorf("%s: %q is not %s", source, s, map[bool]string{true: "an IP address", false: "a domain"}[wantIP])
			}
			t.Source = source
			add(t)
		}
		return nil
	}
	if len(s.IPs) > 0 {
		if err := parse(s.IPs, "config blocklist.ips", true); err != nil {
			return nil, nil, err
		}
	} else if s.Discovery != nil {
		found, n, err := s.Discovery.Discover(ctx)
		if err != nil {
			return nil, nil, err
		}
		notes = append(notes, n...)
		for _, t := range found {
			add(t)
		}
	}
	if err := parse(s.ExtraIPs, "config blocklist.extra_ips", true); err != nil {
		return nil, nil, err
	}
	if err := parse(s.Domains, "config blocklist.domains", false); err != nil {
		return nil, nil, err
	}
	return out, notes, nil
}

// Discovery finds the machine's public sending addresses: the addresses
// Postfix is told to send from (smtp_bind_address, smtp_bind_address6,
// their master.cf overrides, or a single address in inet_interfaces),
// else the public addresses of the interfaces, for the protocols in
// inet_protocols.
type Discovery struct {
	// PostfixDir is Postfix's config_directory (default /etc/postfix).
	PostfixDir string
	// Postconf is the postconf program; empty: found in PATH or
	// /usr/sbin. When it is absent, main.cf is read directly.
	Postconf string
	// Interfaces lists the interface addresses (default: the system's).
	Interfaces func() ([]netip.Addr, error)
}

// Discover returns the sending addresses and notes on what it skipped.
func (d *Discovery) Discover(ctx context.Context) ([]Target, []string, error) {
	pf, found, err := d.Postfix(ctx)
	if err != nil {
		return nil, nil, err
	}
	ifaces := d.Interfaces
	if ifaces == nil {
		ifaces = systemAddrs
	}
	addrs, err := ifaces()
	if err != nil {
		return nil, nil, fmt.Errorf("listing the interface addresses: %w", err)
	}
	var p *PostfixSettings
	if found {
		p = &pf
	}
	ts, notes := sendingAddrs(p, addrs)
	return ts, notes, nil
}

func systemAddrs() ([]netip.Addr, error) {
	as, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, a := range as {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok {
				out = append(out, ip.Unmap())
			}
		}
	}
	return out, nil
}

// special ranges that are never a public sending address.
var notPublic = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("2001::/32"),       // Teredo
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64
}

// IsPublic reports whether a could be seen by a receiving mail server.
func IsPublic(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsGlobalUnicast() || a.IsPrivate() {
		return false
	}
	for _, p := range notPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// sendingAddrs chooses the sending addresses from the Postfix settings
// (nil: no Postfix) and the interface addresses.
func sendingAddrs(pf *PostfixSettings, ifaces []netip.Addr) ([]Target, []string) {
	var notes []string
	want4, want6 := true, true
	var pinned4, pinned6 []Target
	if pf != nil {
		switch p := strings.ToLower(strings.ReplaceAll(pf.InetProtocols, " ", "")); p {
		case "", "all", "ipv4,ipv6", "ipv6,ipv4":
		case "ipv4":
			want6 = false
		case "ipv6":
			want4 = false
		}
		pin := func(value, source string) {
			for _, f := range splitList(value) {
				a, err := netip.ParseAddr(strings.Trim(f, "[]"))
				if err != nil {
					notes = append(notes, fmt.Sprintf("%s %q is not an IP address; skipped", source, f))
					continue
				}
				a = a.Unmap()
				t := Target{Name: a.String(), Addr: a, Source: "postfix " + source}
				if a.Is4() {
					pinned4 = append(pinned4, t)
				} else {
					pinned6 = append(pinned6, t)
				}
			}
		}
		pin(pf.BindAddress, "smtp_bind_address")
		pin(pf.BindAddress6, "smtp_bind_address6")
		for _, m := range pf.MasterBind {
			pin(m, "master.cf smtp_bind_address")
		}
		// "When inet_interfaces specifies just one IPv4 and/or IPv6
		// address that is not a loopback address, the Postfix SMTP
		// client will use this address as the IP source address."
		var one4, one6 []netip.Addr
		for _, f := range splitList(pf.InetInterfaces) {
			a, err := netip.ParseAddr(strings.Trim(f, "[]"))
			if err != nil || a.IsLoopback() {
				continue // all, loopback-only, host names
			}
			if a = a.Unmap(); a.Is4() {
				one4 = append(one4, a)
			} else {
				one6 = append(one6, a)
			}
		}
		if len(pinned4) == 0 && len(one4) == 1 {
			pinned4 = append(pinned4, Target{Name: one4[0].String(), Addr: one4[0], Source: "postfix inet_interfaces"})
		}
		if len(pinned6) == 0 && len(one6) == 1 {
			pinned6 = append(pinned6, Target{Name: one6[0].String(), Addr: one6[0], Source: "postfix inet_interfaces"})
		}
	}
	var out []Target
	seen := map[string]bool{}
	keep := func(t Target) {
		if seen[t.Name] {
			return
		}
		seen[t.Name] = true
		if !IsPublic(t.Addr) {
			notes = append(notes, fmt.Sprintf("%s %s is not a public address (behind NAT?); set blocklist.ips to the address receivers see", t.Source, t.Name))
			return
		}
		out = append(out, t)
	}
	for _, fam := range []struct {
		want   bool
		pinned []Target
		is     func(netip.Addr) bool
	}{{want4, pinned4, netip.Addr.Is4}, {want6, pinned6, netip.Addr.Is6}} {
		if !fam.want {
			continue
		}
		if len(fam.pinned) > 0 {
			for _, t := range fam.pinned {
				keep(t)
			}
			continue
		}
		for _, a := range ifaces {
			a = a.Unmap()
			if fam.is(a) && IsPublic(a) {
				keep(Target{Name: a.String(), Addr: a, Source: "interface address"})
			}
		}
	}
	return out, notes
}

func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
}
