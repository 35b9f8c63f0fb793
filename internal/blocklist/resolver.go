package blocklist

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Resolver sends the queries to one recursive resolver of the hoster's
// (or, in tests, straight to an authoritative server). Blocklists see the
// resolver's address: several refuse public resolvers, which is why the
// resolver is the hoster's own and not a public one.
type Resolver struct {
	Servers  []string      // host:port, tried in order
	Timeout  time.Duration // per attempt
	Attempts int           // per server, at least 1
}

// ResolverFor returns the resolver for a configured address ("" means the
// system's, from resolvConf).
func ResolverFor(addr, resolvConf string, timeout time.Duration) (*Resolver, error) {
	r := &Resolver{Timeout: timeout, Attempts: 2}
	if addr != "" {
		hp, err := resolverAddr(addr)
		if err != nil {
			return nil, err
		}
		r.Servers = []string{hp}
		return r, nil
	}
	cc, err := dns.ClientConfigFromFile(resolvConf)
	if err != nil {
		return nil, fmt.Errorf("reading the system's resolver from %s: %w (set blocklist.resolver)", resolvConf, err)
	}
	for _, s := range cc.Servers {
		r.Servers = append(r.Servers, net.JoinHostPort(s, cc.Port))
	}
	if len(r.Servers) == 0 {
		return nil, fmt.Errorf("%s names no nameserver (set blocklist.resolver)", resolvConf)
	}
	return r, nil
}

// resolverAddr reads "IP" or "IP:port" (IPv6 as [addr]:port).
func resolverAddr(s string) (string, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return net.JoinHostPort(a.String(), "53"), nil
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return "", fmt.Errorf("resolver %q: expected an IP address, optionally with a port (127.0.0.1:53, [::1]:53)", s)
	}
	return ap.String(), nil
}

// publicResolvers are the big open resolvers that Spamhaus, URIBL and
// others refuse or rate-limit.
var publicResolvers = map[string]string{
	"8.8.8.8": "Google", "8.8.4.4": "Google", "2001:4860:4860::8888": "Google", "2001:4860:4860::8844": "Google",
	"1.1.1.1": "Cloudflare", "1.0.0.1": "Cloudflare", "2606:4700:4700::1111": "Cloudflare", "2606:4700:4700::1001": "Cloudflare",
	"9.9.9.9": "Quad9", "149.112.112.112": "Quad9", "2620:fe::fe": "Quad9", "2620:fe::9": "Quad9",
	"208.67.222.222": "OpenDNS", "208.67.220.220": "OpenDNS", "2620:119:35::35": "OpenDNS", "2620:119:53::53": "OpenDNS",
	"94.140.14.14": "AdGuard", "94.140.15.15": "AdGuard", "76.76.2.0": "Control D", "76.76.10.0": "Control D",
	"185.222.222.222": "DNS.SB", "45.11.45.11": "DNS.SB", "64.6.64.6": "Neustar", "64.6.65.6": "Neustar",
}

// PublicResolverWarnings says which of the resolver's servers are public
// resolvers, each with the consequence.
func (r *Resolver) PublicResolverWarnings() []string {
	var out []string
	for _, s := range r.Servers {
		host, _, err := net.SplitHostPort(s)
		if err != nil {
			continue
		}
		a, err := netip.ParseAddr(host)
		if err != nil {
			continue
		}
		if who, ok := publicResolvers[a.Unmap().String()]; ok {
			out = append(out, fmt.Sprintf("resolver %s is %s's public resolver: Spamhaus, URIBL and others refuse or limit queries from public resolvers, "+
				"so their zones will fail the health check and report unknown; point blocklist.resolver at a resolver of your own (unbound or knot-resolver on this machine)", s, who))
		}
	}
	return out
}

// errNoServer is returned when every server failed without an answer.
var errNoServer = errors.New("no server")

// Query asks for name (ending with a dot) of type qtype, with recursion
// desired. It falls back to TCP when the UDP answer is truncated, and to
// the next server or attempt on timeouts and network errors. An answer
// with any RCODE is returned as is.
func (r *Resolver) Query(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = true
	m.SetEdns0(1232, false)
	attempts := max(r.Attempts, 1)
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	var last error = errNoServer
	for try := 0; try < attempts; try++ {
		for _, server := range r.Servers {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			resp, err := exchange(ctx, m, server, "udp", timeout)
			if err == nil && resp.Truncated {
				resp, err = exchange(ctx, m, server, "tcp", timeout)
			}
			if err == nil {
				return resp, nil
			}
			last = fmt.Errorf("%s: %w", server, err)
		}
	}
	return nil, last
}

func exchange(ctx context.Context, m *dns.Msg, server, network string, timeout time.Duration) (*dns.Msg, error) {
	c := &dns.Client{Net: network, Timeout: timeout, UDPSize: 1232}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, _, err := c.ExchangeContext(ctx, m.Copy(), server)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("no answer within %v", timeout)
		}
		return nil, cleanNetError(err)
	}
	return resp, nil
}

// cleanNetError keeps the part of a network error a person needs.
func cleanNetError(err error) error {
	s := err.Error()
	if strings.Contains(s, "connection refused") {
		return errors.New("connection refused (nothing listens there)")
	}
	return err
}
