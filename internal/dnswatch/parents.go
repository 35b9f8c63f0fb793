package dnswatch

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/miekg/dns"

	"github.com/vigie/vigie/internal/dnsname"
)

// ParseServer reads "host:port" or a bare address (port 53), IPv4 or IPv6
// ("[2001:db8::1]:53").
func ParseServer(s string) (netip.AddrPort, error) { return dnsname.ParseServer(s) }

// parentZone is the zone that delegates domain: the domain without its
// first label ("example.co.uk." is delegated by "co.uk.").
func parentZone(domain string) string {
	i := strings.IndexByte(domain, '.')
	return domain[i+1:]
}

// discoverParents finds the servers of zone through the resolver: its NS,
// then their addresses. This is the only use of a recursive resolver, and
// its answers only say whom to ask; the delegations themselves are read
// from those servers.
func (m *Monitor) discoverParents(ctx context.Context, zone string) ([]netip.AddrPort, error) {
	if m.resolver == nil {
		return nil, fmt.Errorf("no servers for %s: set dns.parents for it or dns.resolver", zone)
	}
	names, err := m.resolveNames(ctx, zone, dns.TypeNS)
	if err != nil {
		return nil, fmt.Errorf("finding the servers of %s through %s: %w", zone, m.resolver, err)
	}
	var out []netip.AddrPort
	for _, n := range names {
		addrs, err := m.resolveAddrs(ctx, n)
		if err != nil {
			m.log.Warn("no address for a parent server", "zone", zone, "server", n, "err", err)
			continue
		}
		for _, a := range addrs {
			out = append(out, netip.AddrPortFrom(a, 53))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no address for any server of %s through %s", zone, m.resolver)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr().Less(out[j].Addr()) })
	return out, nil
}

// recursive asks the resolver (with recursion) and returns the answer's
// records of type qtype owned by name.
func (m *Monitor) resolveNames(ctx context.Context, name string, qtype uint16) ([]string, error) {
	var out []string
	q := new(dns.Msg)
	q.SetQuestion(name, qtype)
	q.SetEdns0(1232, false)
	r, err := m.client.exchange(ctx, *m.resolver, q)
	if err != nil {
		return nil, err
	}
	if err := checkQuestion(r, name, qtype); err != nil {
		return nil, err
	}
	if err := rcodeError(r, "resolver"); err != nil {
		return nil, err
	}
	for _, rr := range r.Answer {
		switch rr := rr.(type) {
		case *dns.NS:
			if strings.EqualFold(rr.Hdr.Name, name) {
				out = append(out, canonName(rr.Ns))
			}
		}
	}
	return dnsname.SortedUnique(out), nil
}

// resolveAddrs returns the addresses of a host name (A and AAAA) through
// the resolver, cached for the sweep.
func (m *Monitor) resolveAddrs(ctx context.Context, name string) ([]netip.Addr, error) {
	m.nsCacheMu.Lock()
	if a, ok := m.nsCache[name]; ok {
		m.nsCacheMu.Unlock()
		return a, nil
	}
	m.nsCacheMu.Unlock()
	out := m.glueFromParents(ctx, name)
	if len(out) == 0 && m.resolver == nil {
		return nil, qerr(errNoAddress, "%s has no glue and no resolver is configured to find its address", name)
	}
	for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
		if len(out) > 0 && qt == dns.TypeA {
			break // the parent's glue answered
		}
		q := new(dns.Msg)
		q.SetQuestion(name, qt)
		q.SetEdns0(1232, false)
		r, err := m.client.exchange(ctx, *m.resolver, q)
		if err != nil {
			continue
		}
		if checkQuestion(r, name, qt) != nil || r.Rcode != dns.RcodeSuccess {
			continue
		}
		for _, rr := range r.Answer {
			switch rr := rr.(type) {
			case *dns.A:
				if a, ok := netip.AddrFromSlice(rr.A.To4()); ok {
					out = append(out, a)
				}
			case *dns.AAAA:
				if a, ok := netip.AddrFromSlice(rr.AAAA.To16()); ok {
					out = append(out, a)
				}
			}
		}
	}
	m.nsCacheMu.Lock()
	m.nsCache[name] = out
	m.nsCacheMu.Unlock()
	if len(out) == 0 {
		return nil, qerr(errNoAddress, "no address found for %s", name)
	}
	return out, nil
}

// glueFromParents looks for the addresses of a name server in the glue
// of a parent zone this monitor already asks: a rogue NS set under
// another TLD ("ns1.evil.example.") is found at that TLD's servers, as a
// resolver would, without trusting a resolver's cache.
func (m *Monitor) glueFromParents(ctx context.Context, name string) []netip.Addr {
	var best *zone
	for i := range m.zones {
		z := &m.zones[i]
		if len(z.servers) > 0 && strings.HasSuffix(name, "."+z.name) && (best == nil || len(z.name) > len(best.name)) {
			best = z
		}
	}
	if best == nil {
		return nil
	}
	var out []netip.Addr
	m.ask.ask(ctx, best.servers, name, dns.TypeA, false, func(r *dns.Msg) error {
		if err := checkQuestion(r, name, dns.TypeA); err != nil {
			return err
		}
		if err := rcodeError(r, "parent"); err != nil {
			return err
		}
		out = out[:0]
		for _, rr := range append(append([]dns.RR(nil), r.Answer...), r.Extra...) {
			if !strings.EqualFold(rr.Header().Name, name) {
				continue
			}
			switch rr := rr.(type) {
			case *dns.A:
				if a, ok := netip.AddrFromSlice(rr.A.To4()); ok {
					out = append(out, a)
				}
			case *dns.AAAA:
				if a, ok := netip.AddrFromSlice(rr.AAAA.To16()); ok {
					out = append(out, a)
				}
			}
		}
		return nil
	})
	return out
}
