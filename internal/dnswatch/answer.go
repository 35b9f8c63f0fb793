package dnswatch

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/miekg/dns"

	"github.com/vigie/vigie/internal/dnsname"
)

// errClass names why a query gave no usable answer; it labels the error
// counter and the per-domain error. None of these is ever a drift.
type errClass uint8

const (
	errNone         errClass = iota
	errTimeout               // no answer in time, after retries
	errNetwork               // could not send or connect
	errMalformed             // the packet does not parse (truncated, compression loop, ...)
	errMismatch              // an answer to another question
	errRefused               // REFUSED, NOTIMP: lame or refusing server
	errServfail              // SERVFAIL or another failure code
	errNXDomain              // the parent says the delegated domain does not exist
	errNotDelegated          // the parent answers without a referral
	errLame                  // a child server that is not authoritative for the domain
	errNoAddress             // no address for any of the domain's name servers
	errDisagree              // parent servers disagree (reported on its own)
	numErrClasses
)

var errClassNames = [numErrClasses]string{"", "timeout", "network", "malformed", "mismatch", "refused", "servfail",
	"nxdomain", "not-delegated", "lame", "no-address", "disagree"}

func (c errClass) String() string {
	if c < numErrClasses {
		return errClassNames[c]
	}
	return "unknown"
}

// queryError is a failed query: its class and a message for a person.
type queryError struct {
	class errClass
	msg   string
}

func (e *queryError) Error() string { return e.class.String() + ": " + e.msg }

func qerr(c errClass, format string, args ...any) error {
	return &queryError{class: c, msg: fmt.Sprintf(format, args...)}
}

func classOf(err error) errClass {
	var q *queryError
	if errors.As(err, &q) {
		return q.class
	}
	return errNetwork
}

// retryable says whether another server (or another try) may do better.
func retryable(c errClass) bool {
	switch c {
	case errNXDomain, errNotDelegated:
		return false
	}
	return true
}

// checkQuestion refuses an answer to another question: a spoofed or
// confused packet must not be read as the state of this domain.
func checkQuestion(m *dns.Msg, qname string, qtype uint16) error {
	if !m.Response {
		return qerr(errMalformed, "not a response")
	}
	if len(m.Question) != 1 {
		return qerr(errMismatch, "%d questions in the answer", len(m.Question))
	}
	q := m.Question[0]
	if q.Qtype != qtype || q.Qclass != dns.ClassINET || !strings.EqualFold(q.Name, qname) {
		return qerr(errMismatch, "answer to %s %s, asked %s %s", quoteName(q.Name), dns.TypeToString[q.Qtype], qname, dns.TypeToString[qtype])
	}
	return nil
}

func quoteName(n string) string {
	if len(n) > 255 {
		n = n[:255]
	}
	return fmt.Sprintf("%q", n)
}

func rcodeError(m *dns.Msg, what string) error {
	switch m.Rcode {
	case dns.RcodeSuccess:
		return nil
	case dns.RcodeNameError:
		return qerr(errNXDomain, "%s: NXDOMAIN", what)
	case dns.RcodeRefused, dns.RcodeNotImplemented:
		return qerr(errRefused, "%s: %s", what, dns.RcodeToString[m.Rcode])
	default:
		s := dns.RcodeToString[m.Rcode]
		if s == "" {
			s = fmt.Sprintf("rcode %d", m.Rcode)
		}
		return qerr(errServfail, "%s: %s", what, s)
	}
}

// referral is what a parent server says about one delegation.
type referral struct {
	ns      []string
	glue    []string // "name address", sorted
	addrs   []netip.Addr
	ds      []string
	dsKnown bool // the referral carried DS or a proof of its absence (signed parent)
	ttl     uint32
}

// parseReferral reads a parent's answer to "domain NS" (no recursion,
// DNSSEC OK). The parent usually answers with a referral (NS in the
// authority section); a server authoritative for both the parent and the
// child answers with the NS in the answer section. Records for any other
// owner are ignored, never taken for the domain's.
func parseReferral(domain string, m *dns.Msg) (referral, error) {
	var r referral
	if err := checkQuestion(m, domain, dns.TypeNS); err != nil {
		return r, err
	}
	if err := rcodeError(m, "parent"); err != nil {
		return r, err
	}
	section := m.Ns
	if m.Authoritative && len(m.Answer) > 0 {
		section = m.Answer
	}
	var soa bool
	for _, rr := range section {
		h := rr.Header()
		if h.Class != dns.ClassINET {
			continue
		}
		switch rr := rr.(type) {
		case *dns.NS:
			if !strings.EqualFold(h.Name, domain) {
				return r, qerr(errMismatch, "referral for %s, asked %s", quoteName(h.Name), domain)
			}
			r.ns = append(r.ns, canonName(rr.Ns))
			if r.ttl == 0 || h.Ttl < r.ttl {
				r.ttl = h.Ttl
			}
		case *dns.DS:
			if strings.EqualFold(h.Name, domain) {
				r.ds = append(r.ds, rdataString(rr))
				r.dsKnown = true
			}
		case *dns.NSEC, *dns.NSEC3:
			r.dsKnown = true // signed parent: no DS here means none
		case *dns.SOA:
			soa = true
		}
	}
	if len(r.ns) == 0 {
		if soa {
			return r, qerr(errNotDelegated, "the parent answers for %s itself: not delegated", domain)
		}
		return r, qerr(errNotDelegated, "no referral for %s", domain)
	}
	r.ns = dnsname.SortedUnique(r.ns)
	in := make(map[string]bool, len(r.ns))
	for _, n := range r.ns {
		in[n] = true
	}
	for _, rr := range m.Extra {
		h := rr.Header()
		name := canonName(h.Name)
		if !in[name] || h.Class != dns.ClassINET {
			continue
		}
		var a netip.Addr
		switch rr := rr.(type) {
		case *dns.A:
			a, _ = netip.AddrFromSlice(rr.A.To4())
		case *dns.AAAA:
			a, _ = netip.AddrFromSlice(rr.AAAA.To16())
		default:
			continue
		}
		if !a.IsValid() {
			continue
		}
		r.glue = append(r.glue, name+" "+a.String())
		r.addrs = append(r.addrs, a)
	}
	r.glue = dnsname.SortedUnique(r.glue)
	r.ds = dnsname.SortedUnique(r.ds)
	return r, nil
}

// parseDS reads a parent's authoritative answer to "domain DS".
func parseDS(domain string, m *dns.Msg) ([]string, uint32, error) {
	if err := checkQuestion(m, domain, dns.TypeDS); err != nil {
		return nil, 0, err
	}
	if err := rcodeError(m, "parent DS"); err != nil {
		return nil, 0, err
	}
	if !m.Authoritative {
		return nil, 0, qerr(errLame, "parent answer to %s DS is not authoritative", domain)
	}
	var ds []string
	var ttl uint32
	for _, rr := range m.Answer {
		if d, ok := rr.(*dns.DS); ok && strings.EqualFold(d.Hdr.Name, domain) && d.Hdr.Class == dns.ClassINET {
			ds = append(ds, rdataString(d))
			ttl = d.Hdr.Ttl
		}
	}
	return dnsname.SortedUnique(ds), ttl, nil
}

// childQuestion is the name and type asked for a child-side kind.
func childQuestion(domain string, k Kind) (string, uint16) {
	switch k {
	case KindA:
		return domain, dns.TypeA
	case KindAAAA:
		return domain, dns.TypeAAAA
	case KindMX:
		return domain, dns.TypeMX
	case KindSPF:
		return domain, dns.TypeTXT
	case KindDMARC:
		return "_dmarc." + domain, dns.TypeTXT
	case KindCAA:
		return domain, dns.TypeCAA
	}
	panic("not a child kind: " + k.String())
}

// parseChild reads a domain's own server's answer for kind k and returns
// the canonical value ("" for none) and the smallest TTL served.
func parseChild(domain string, k Kind, m *dns.Msg) (string, uint32, error) {
	qname, qtype := childQuestion(domain, k)
	if err := checkQuestion(m, qname, qtype); err != nil {
		return "", 0, err
	}
	if m.Rcode == dns.RcodeNameError {
		if k == KindDMARC {
			return "", 0, nil // no _dmarc name: no DMARC policy
		}
		return "", 0, qerr(errNXDomain, "the domain's server says %s does not exist", domain)
	}
	if err := rcodeError(m, "child"); err != nil {
		return "", 0, err
	}
	if !m.Authoritative {
		return "", 0, qerr(errLame, "the domain's server is not authoritative for %s (lame delegation)", domain)
	}
	var vals []string
	var ttl uint32
	var cname string
	for _, rr := range m.Answer {
		h := rr.Header()
		if h.Class != dns.ClassINET || !strings.EqualFold(h.Name, qname) {
			continue
		}
		keep := false
		switch rr := rr.(type) {
		case *dns.CNAME:
			cname = rdataString(rr)
		case *dns.A:
			keep = k == KindA
		case *dns.AAAA:
			keep = k == KindAAAA
		case *dns.MX:
			keep = k == KindMX
		case *dns.CAA:
			keep = k == KindCAA
		case *dns.TXT:
			txt := strings.ToLower(strings.TrimSpace(txtJoined(rr)))
			keep = (k == KindSPF && (txt == "v=spf1" || strings.HasPrefix(txt, "v=spf1 "))) ||
				(k == KindDMARC && strings.HasPrefix(txt, "v=dmarc1"))
		}
		if keep {
			vals = append(vals, rdataString(rr))
			if ttl == 0 || h.Ttl < ttl {
				ttl = h.Ttl
			}
		}
	}
	if len(vals) == 0 && cname != "" {
		// The records live elsewhere; the alias itself is what the domain
		// controls, so it is what is compared.
		return cname, 0, nil
	}
	return joinValues(vals), ttl, nil
}
