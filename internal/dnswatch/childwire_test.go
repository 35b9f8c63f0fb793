package dnswatch

import (
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// childSeeds are answers as domains' own servers send them, for each
// child-side kind, with compression, EDNS0, signatures beside the
// records, an alias, records of other names, and odd ones (lame, an
// error code, NXDOMAIN, another question) the fast reader must leave.
func childSeeds(t testing.TB) (good []childSeed, odd []childSeed) {
	const d = "example.fr."
	mk := func(k Kind, aa bool, rcode int, answer, ns []string, edit func(m *dns.Msg)) []byte {
		qname, qtype := childQuestion(d, k)
		m := reply(qname, qtype, aa, rcode, answer, ns, nil)
		m.SetEdns0(1232, false)
		if edit != nil {
			edit(m)
		}
		m.Compress = true
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	sig := " 300 IN RRSIG A 13 2 300 20270101000000 20261201000000 1234 example.fr. AAAA"
	good = []childSeed{
		{KindA, mk(KindA, true, 0, []string{d + " 300 A 192.0.2.2", d + " 60 A 192.0.2.1", d + sig}, nil, nil)},
		{KindAAAA, mk(KindAAAA, true, 0, []string{d + " 300 AAAA 2001:db8::1", d + " 300 AAAA ::ffff:192.0.2.1"}, nil, nil)},
		{KindAAAA, mk(KindAAAA, true, 0, nil, []string{d + " 300 SOA ns1.example.fr. h.example.fr. 1 2 3 4 5"}, nil)},
		{KindMX, mk(KindMX, true, 0, []string{d + " 300 MX 10 MX.Example.fr.", d + " 300 MX 20 mx2.hoster.net."}, nil,
			func(m *dns.Msg) { m.Extra = append(m.Extra, rr(t, "mx.example.fr. 300 A 192.0.2.25")) })},
		{KindSPF, mk(KindSPF, true, 0, []string{d + ` 300 TXT "google-site-verification=xyz"`, d + ` 300 TXT "v=spf1 " "mx -all"`,
			d + ` 300 TXT "V=SPF1 \009\010<script>\""`}, nil, nil)},
		{KindDMARC, mk(KindDMARC, true, 0, []string{"_dmarc." + d + ` 300 TXT "v=DMARC1; p=reject"`}, nil, nil)},
		{KindDMARC, mk(KindDMARC, true, 0, []string{"_dmarc." + d + " 300 CNAME D.dmarc.example."}, nil, nil)},
		{KindCAA, mk(KindCAA, true, 0, []string{d + ` 300 CAA 0 issue "letsencrypt.org"`, d + ` 300 CAA 128 iodef "mailto:x@example.fr"`}, nil, nil)},
		{KindA, mk(KindA, true, 0, []string{"evil.fr. 300 A 203.0.113.1"}, nil, nil)},
		{KindA, mk(KindA, true, 0, []string{d + " 300 CNAME www.hoster.net.", "www.hoster.net. 300 A 192.0.2.80"}, nil, nil)},
	}
	odd = []childSeed{
		{KindA, mk(KindA, false, 0, nil, []string{"fr. 300 NS a.nic.fr."}, nil)},
		{KindMX, mk(KindMX, true, dns.RcodeNameError, nil, nil, nil)},
		{KindDMARC, mk(KindDMARC, true, dns.RcodeNameError, nil, nil, nil)},
		{KindA, mk(KindA, false, dns.RcodeRefused, nil, nil, nil)},
		{KindA, mk(KindA, true, 0, nil, nil, func(m *dns.Msg) { m.Question[0].Name = "x.fr." })},
		{KindCAA, mk(KindCAA, true, 0, []string{d + ` 300 CAA 0 is\"sue "x"`}, nil, nil)},
		{KindMX, mk(KindMX, true, 0, []string{d + ` 300 MX 10 odd\032name.example.`}, nil, nil)},
	}
	return good, odd
}

type childSeed struct {
	k   Kind
	raw []byte
}

// The fast reader reads the common answers itself, as parseChild does,
// and leaves the odd ones.
func TestFastChildReadsRealShapes(t *testing.T) {
	good, odd := childSeeds(t)
	for i, s := range good {
		got, ttl, ok := fastChild("example.fr.", s.k, s.raw)
		if !ok {
			t.Fatalf("seed %d (%v): not read", i, s.k)
		}
		m := new(dns.Msg)
		if err := m.Unpack(s.raw); err != nil {
			t.Fatal(err)
		}
		want, wttl, err := parseChild("example.fr.", s.k, m)
		if err != nil || got != want || ttl != wttl {
			t.Fatalf("seed %d (%v): fast %q %d, slow %q %d (%v)", i, s.k, got, ttl, want, wttl, err)
		}
		t.Logf("%v: %q", s.k, got)
	}
	for i, s := range odd {
		if v, _, ok := fastChild("example.fr.", s.k, s.raw); ok {
			t.Errorf("odd seed %d (%v) read by the fast path: %q", i, s.k, v)
		}
	}
}

// FuzzFastChild: wherever the fast reader reads a child answer, miekg/dns
// and parseChild read the same value and TTL (the fast reader may leave
// more answers to them, never read one differently).
func FuzzFastChild(f *testing.F) {
	good, odd := childSeeds(f)
	for _, s := range append(good, odd...) {
		f.Add(s.raw, uint8(s.k))
	}
	f.Fuzz(func(t *testing.T, raw []byte, kind uint8) {
		k := childKinds[int(kind)%len(childKinds)]
		got, ttl, ok := fastChild("example.fr.", k, raw)
		if !ok {
			return
		}
		if len(got) > maxValueLen+100 || strings.ContainsAny(got, "\n\t") {
			t.Fatalf("unbounded or multi-line value %q", got)
		}
		m := new(dns.Msg)
		if err := m.Unpack(raw); err != nil {
			// The fast reader skips the records it does not use; miekg/dns
			// refuses the packet when one of those is malformed.
			return
		}
		want, wttl, err := parseChild("example.fr.", k, m)
		if err != nil {
			t.Fatalf("fast reader accepted what parseChild refuses (%v): %q", err, got)
		}
		if got != want || ttl != wttl {
			t.Fatalf("%v: fast %q ttl %d\nslow %q ttl %d", k, got, ttl, want, wttl)
		}
	})
}
