package dnswatch

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// DNSSEC health of a domain with a DS at its parent: the chain from the
// parent's DS to the child's keys and signatures, as a validating
// resolver walks it. A broken chain takes the domain off the Internet
// for every validating resolver (SERVFAIL) as surely as a hijack.

// SecStatus is what the DNSSEC check of one domain found.
type SecStatus uint8

const (
	SecUnchecked SecStatus = iota // no DS at the parent, or not swept yet
	SecOK                         // the chain validates; signatures last
	SecExpiring                   // the chain validates, but a signature expires within the warning time
	SecBroken                     // a validating resolver fails: no key matches the DS, a signature is bad or expired, or none
	SecError                      // the child's servers could not be read: never a finding
)

var secNames = [...]string{"unchecked", "ok", "expiring", "broken", "error"}

func (s SecStatus) String() string {
	if int(s) < len(secNames) {
		return secNames[s]
	}
	return "unknown"
}

// A SecCheck is the DNSSEC check of one domain.
type SecCheck struct {
	Domain  string
	TLD     string
	Status  SecStatus
	Problem string   // what is wrong, for a person
	DS      []string // the DS set at the parent ("keytag alg digesttype DIGEST")
	Keys    []string // the DNSKEYs the child serves ("keytag alg flags", KSK or ZSK)
	// Expires is when the first of the signatures a resolver relies on
	// (over the DNSKEY set and the SOA) expires.
	Expires time.Time
	Server  string // the child server that answered
}

// DefaultSecWarn is how long before a signature's expiry it is a finding
// by default: Knot and BIND refresh signatures a week or more before
// they expire, so one with less than three days left is not refreshed.
const DefaultSecWarn = 3 * 24 * time.Hour

// keyString names a DNSKEY: its tag, algorithm and role.
func keyString(k *dns.DNSKEY) string {
	role := "ZSK"
	if k.Flags&dns.SEP != 0 {
		role = "KSK"
	}
	s := fmt.Sprintf("%d %s %s", k.KeyTag(), dns.AlgorithmToString[k.Algorithm], role)
	if k.Flags&dns.REVOKE != 0 {
		s += " revoked"
	}
	return s
}

// parseDSValue reads a DS set in the canonical form the sweep keeps
// ("keytag alg digesttype DIGEST, ...").
func parseDSValue(domain, v string) []*dns.DS {
	var out []*dns.DS
	for _, s := range splitValues(v) {
		f := strings.Fields(s)
		if len(f) != 4 {
			continue
		}
		tag, e1 := strconv.ParseUint(f[0], 10, 16)
		alg, e2 := strconv.ParseUint(f[1], 10, 8)
		dt, e3 := strconv.ParseUint(f[2], 10, 8)
		if e1 != nil || e2 != nil || e3 != nil {
			continue
		}
		out = append(out, &dns.DS{Hdr: dns.RR_Header{Name: domain, Rrtype: dns.TypeDS, Class: dns.ClassINET},
			KeyTag: uint16(tag), Algorithm: uint8(alg), DigestType: uint8(dt), Digest: f[3]})
	}
	return out
}

// rrsetOf returns the records of type t owned by name in rrs, and the
// signatures covering them.
func rrsetOf(rrs []dns.RR, name string, t uint16) (set []dns.RR, sigs []*dns.RRSIG) {
	for _, rr := range rrs {
		h := rr.Header()
		if h.Class != dns.ClassINET || !strings.EqualFold(h.Name, name) {
			continue
		}
		if sig, ok := rr.(*dns.RRSIG); ok {
			if sig.TypeCovered == t {
				sigs = append(sigs, sig)
			}
			continue
		}
		if h.Rrtype == t {
			set = append(set, rr)
		}
	}
	return set, sigs
}

// validSig returns the latest expiry among the signatures over set made
// by one of keys that verify and are valid at now; ok is false when none
// is, with why.
func validSig(set []dns.RR, sigs []*dns.RRSIG, keys []*dns.DNSKEY, zone string, now time.Time) (exp time.Time, why string, ok bool) {
	why = "no signature"
	for _, sig := range sigs {
		if !strings.EqualFold(sig.SignerName, zone) {
			why = fmt.Sprintf("signed by %s, not by the zone", sig.SignerName)
			continue
		}
		var key *dns.DNSKEY
		for _, k := range keys {
			if k.KeyTag() == sig.KeyTag && k.Algorithm == sig.Algorithm {
				key = k
				break
			}
		}
		if key == nil {
			if why == "no signature" {
				why = fmt.Sprintf("signed by key %d (%s), which is not in the chain", sig.KeyTag, dns.AlgorithmToString[sig.Algorithm])
			}
			continue
		}
		if err := sig.Verify(key, set); err != nil {
			why = fmt.Sprintf("the signature by key %d does not verify (%v)", sig.KeyTag, err)
			continue
		}
		incep, expi := sigTime(sig.Inception, now), sigTime(sig.Expiration, now)
		if !sig.ValidityPeriod(now) {
			if now.After(expi) {
				why = fmt.Sprintf("the signature by key %d expired on %s", sig.KeyTag, expi.UTC().Format(time.RFC3339))
			} else {
				why = fmt.Sprintf("the signature by key %d is not valid before %s", sig.KeyTag, incep.UTC().Format(time.RFC3339))
			}
			continue
		}
		if !ok || expi.After(exp) {
			exp, ok = expi, true
		}
	}
	return exp, why, ok
}

// sigTime is an RRSIG time (seconds modulo 2^32, RFC 4034 serial
// arithmetic) as the instant nearest to now.
func sigTime(t uint32, now time.Time) time.Time {
	d := int64(int32(t - uint32(now.Unix())))
	return now.Add(time.Duration(d) * time.Second).Truncate(time.Second)
}

// evalDNSSEC walks the chain of domain from its DS set to the child's
// answers to "DNSKEY" and "SOA" (asked with DO), at now.
func evalDNSSEC(domain string, ds []*dns.DS, keyMsg, soaMsg *dns.Msg, now time.Time, warn time.Duration) SecCheck {
	c := SecCheck{Domain: domain, Status: SecBroken}
	for _, d := range ds {
		c.DS = append(c.DS, fmt.Sprintf("%d %d %d %s", d.KeyTag, d.Algorithm, d.DigestType, strings.ToUpper(d.Digest)))
	}
	keyRRs, keySigs := rrsetOf(keyMsg.Answer, domain, dns.TypeDNSKEY)
	var keys []*dns.DNSKEY
	for _, rr := range keyRRs {
		k := rr.(*dns.DNSKEY)
		keys = append(keys, k)
		c.Keys = append(c.Keys, keyString(k))
	}
	sort.Strings(c.Keys)
	if len(keys) == 0 {
		c.Problem = "the parent publishes a DS but the domain's servers serve no DNSKEY: the zone is not signed, validating resolvers answer SERVFAIL"
		return c
	}
	var anchors []*dns.DNSKEY // the keys a DS vouches for
	supported := false
	for _, d := range ds {
		if d.DigestType == dns.SHA1 || d.DigestType == dns.SHA256 || d.DigestType == dns.SHA384 {
			supported = true
		}
		for _, k := range keys {
			if k.KeyTag() != d.KeyTag || k.Algorithm != d.Algorithm || k.Flags&dns.ZONE == 0 || k.Flags&dns.REVOKE != 0 {
				continue
			}
			if kd := k.ToDS(d.DigestType); kd != nil && strings.EqualFold(kd.Digest, d.Digest) {
				anchors = append(anchors, k)
			}
		}
	}
	if !supported {
		// RFC 4035 5.2: a resolver treats the zone as unsigned; not broken.
		c.Status, c.Problem = SecOK, "no DS uses a digest type resolvers support: the zone is treated as unsigned"
		return c
	}
	if len(anchors) == 0 {
		c.Problem = fmt.Sprintf("no DNSKEY served by the domain matches a DS at the parent (DS %s; DNSKEYs %s): the chain is broken, validating resolvers answer SERVFAIL",
			strings.Join(c.DS, ", "), strings.Join(c.Keys, ", "))
		return c
	}
	keyExp, why, ok := validSig(keyRRs, keySigs, anchors, domain, now)
	if !ok {
		c.Problem = "the DNSKEY set has no valid signature by a key the DS names: " + why
		return c
	}
	soaRRs, soaSigs := rrsetOf(soaMsg.Answer, domain, dns.TypeSOA)
	if len(soaRRs) == 0 {
		c.Status, c.Problem = SecError, "no SOA in the answer"
		return c
	}
	if len(soaSigs) == 0 {
		c.Problem = "the domain's servers answer without signatures (no RRSIG over the SOA)"
		return c
	}
	soaExp, why, ok := validSig(soaRRs, soaSigs, keys, domain, now)
	if !ok {
		c.Problem = "the SOA has no valid signature: " + why
		return c
	}
	c.Expires = keyExp
	if soaExp.Before(keyExp) {
		c.Expires = soaExp
	}
	c.Status = SecOK
	if c.Expires.Sub(now) < warn {
		c.Status = SecExpiring
		c.Problem = fmt.Sprintf("signatures expire on %s (in %s) and have not been refreshed: the signer may have stopped",
			c.Expires.UTC().Format(time.RFC3339), c.Expires.Sub(now).Round(time.Minute))
	}
	return c
}

// checkDNSSEC reads domain i's DNSKEY and SOA from its servers (as the
// parent delegates it now) and walks the chain from its DS.
func (m *Monitor) checkDNSSEC(ctx context.Context, i int) SecCheck {
	d := &m.domains[i]
	c := SecCheck{Domain: d.name, TLD: m.zones[d.zone].name, Status: SecError}
	m.addrMu.Lock()
	addrs := m.addrSets[d.addrs]
	m.addrMu.Unlock()
	if len(addrs) == 0 {
		c.Problem = "no address for the domain's name servers"
		return c
	}
	servers := make([]netip.AddrPort, len(addrs))
	for j, a := range addrs {
		servers[j] = netip.AddrPortFrom(a, m.o.ChildPort)
	}
	var keyMsg, soaMsg *dns.Msg
	authoritative := func(t uint16, out **dns.Msg) func(r *dns.Msg) error {
		return func(r *dns.Msg) error {
			if err := checkQuestion(r, d.name, t); err != nil {
				return err
			}
			if err := rcodeError(r, "child"); err != nil {
				return err
			}
			if !r.Authoritative {
				return qerr(errLame, "the domain's server is not authoritative for %s (lame delegation)", d.name)
			}
			*out = r
			return nil
		}
	}
	srv, err := m.ask.ask(ctx, servers, d.name, dns.TypeDNSKEY, true, authoritative(dns.TypeDNSKEY, &keyMsg))
	if err == nil {
		_, err = m.ask.ask(ctx, []netip.AddrPort{srv}, d.name, dns.TypeSOA, true, authoritative(dns.TypeSOA, &soaMsg))
	}
	if err != nil {
		c.Problem = err.Error()
		return c
	}
	out := evalDNSSEC(d.name, parseDSValue(d.name, m.vals.value(d.obs[KindDS])), keyMsg, soaMsg, m.o.Now(), m.o.SecWarn)
	out.TLD, out.Server = c.TLD, srv.String()
	return out
}
