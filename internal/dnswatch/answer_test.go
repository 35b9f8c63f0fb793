package dnswatch

import (
	"reflect"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func reply(qname string, qtype uint16, aa bool, rcode int, answer, ns, extra []string) *dns.Msg {
	q := new(dns.Msg)
	q.SetQuestion(qname, qtype)
	r := new(dns.Msg)
	r.SetRcode(q, rcode)
	r.Authoritative = aa
	for _, sec := range []struct {
		in  []string
		out *[]dns.RR
	}{{answer, &r.Answer}, {ns, &r.Ns}, {extra, &r.Extra}} {
		for _, s := range sec.in {
			rr, err := dns.NewRR(s)
			if err != nil {
				panic(err)
			}
			*sec.out = append(*sec.out, rr)
		}
	}
	return r
}

func TestParseReferral(t *testing.T) {
	const d = "example.fr."
	cases := []struct {
		name         string
		msg          *dns.Msg
		ns, glue, ds string
		dsKnown      bool
		err          errClass
	}{
		{name: "referral with glue", msg: reply(d, dns.TypeNS, false, 0, nil,
			[]string{d + " 3600 NS NS2.Example.fr.", d + " 3600 NS ns1.example.fr.", d + " 3600 NS ns.other.net."},
			[]string{"ns1.example.fr. 3600 A 192.0.2.1", "ns2.example.fr. 3600 AAAA 2001:db8::2", "unrelated.fr. 3600 A 192.0.2.9"}),
			ns: "ns.other.net., ns1.example.fr., ns2.example.fr.", glue: "ns1.example.fr. 192.0.2.1, ns2.example.fr. 2001:db8::2"},
		{name: "signed parent with DS", msg: reply(d, dns.TypeNS, false, 0, nil,
			[]string{d + " 3600 NS ns1.example.fr.", d + " 3600 DS 12345 13 2 " + strings.Repeat("ab", 32)}, nil),
			ns: "ns1.example.fr.", ds: "12345 13 2 " + strings.Repeat("AB", 32), dsKnown: true},
		{name: "signed parent, no DS", msg: reply(d, dns.TypeNS, false, 0, nil,
			[]string{d + " 3600 NS ns1.example.fr.", d + " 3600 NSEC z.fr. NS RRSIG NSEC"}, nil),
			ns: "ns1.example.fr.", dsKnown: true},
		{name: "parent is also the child's server", msg: reply(d, dns.TypeNS, true, 0,
			[]string{d + " 3600 NS ns1.example.fr."}, nil, nil), ns: "ns1.example.fr."},
		{name: "nxdomain", msg: reply(d, dns.TypeNS, true, dns.RcodeNameError, nil, nil, nil), err: errNXDomain},
		{name: "refused", msg: reply(d, dns.TypeNS, false, dns.RcodeRefused, nil, nil, nil), err: errRefused},
		{name: "servfail", msg: reply(d, dns.TypeNS, false, dns.RcodeServerFailure, nil, nil, nil), err: errServfail},
		{name: "not delegated", msg: reply(d, dns.TypeNS, true, 0, nil, []string{"fr. 300 SOA a. b. 1 2 3 4 5"}, nil), err: errNotDelegated},
		{name: "referral for another name", msg: reply(d, dns.TypeNS, false, 0, nil, []string{"victim.fr. 3600 NS ns1.evil."}, nil), err: errMismatch},
		{name: "answer to another question", msg: reply("other.fr.", dns.TypeNS, false, 0, nil, []string{"other.fr. 3600 NS ns1.evil."}, nil), err: errMismatch},
		{name: "answer to another type", msg: reply(d, dns.TypeA, false, 0, nil, []string{d + " 3600 NS ns1.evil."}, nil), err: errMismatch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := parseReferral(d, c.msg)
			if c.err != errNone {
				if classOf(err) != c.err {
					t.Fatalf("error %v, want class %v", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := joinValues(r.ns); got != c.ns {
				t.Errorf("ns %q, want %q", got, c.ns)
			}
			if got := joinValues(r.glue); got != c.glue {
				t.Errorf("glue %q, want %q", got, c.glue)
			}
			if got := joinValues(r.ds); got != c.ds || r.dsKnown != c.dsKnown {
				t.Errorf("ds %q (known %v), want %q (%v)", got, r.dsKnown, c.ds, c.dsKnown)
			}
		})
	}
}

func TestParseChild(t *testing.T) {
	const d = "example.fr."
	huge := strings.Repeat("a", 5000)
	cases := []struct {
		name string
		kind Kind
		msg  *dns.Msg
		want string
		ttl  uint32
		err  errClass
	}{
		{"a", KindA, reply(d, dns.TypeA, true, 0, []string{d + " 300 A 192.0.2.2", d + " 60 A 192.0.2.1"}, nil, nil), "192.0.2.1, 192.0.2.2", 60, 0},
		{"no aaaa", KindAAAA, reply(d, dns.TypeAAAA, true, 0, nil, []string{d + " 300 SOA a. b. 1 2 3 4 5"}, nil), "", 0, 0},
		{"mx", KindMX, reply(d, dns.TypeMX, true, 0, []string{d + " 300 MX 10 MX.Example.fr."}, nil, nil), "10 mx.example.fr.", 300, 0},
		{"spf among other txt", KindSPF, reply(d, dns.TypeTXT, true, 0, []string{
			d + ` 300 TXT "google-site-verification=xyz"`, d + ` 300 TXT "v=spf1 " "mx -all"`}, nil, nil), `"v=spf1 mx -all"`, 300, 0},
		{"spf with hostile bytes", KindSPF, reply(d, dns.TypeTXT, true, 0, []string{d + ` 300 TXT "v=spf1 \009\010<script>\"" `}, nil, nil),
			`"v=spf1 \t\n<script>\""`, 300, 0},
		{"huge spf", KindSPF, reply(d, dns.TypeTXT, true, 0, []string{d + ` 300 TXT "v=spf1 ` + huge[:200] + `" "` + huge[:250] + `"`,
			d + ` 300 TXT "v=spf1 ` + huge[:240] + `" "` + huge[:250] + `" "` + huge[:250] + `" "` + huge[:250] + `" "` + huge[:250] + `" "` + huge[:250] + `" "` + huge[:250] + `" "` + huge[:250] + `" "` + huge[:250] + `"`}, nil, nil),
			"", 300, 0},
		{"dmarc", KindDMARC, reply("_dmarc."+d, dns.TypeTXT, true, 0, []string{"_dmarc." + d + ` 300 TXT "v=DMARC1; p=reject"`}, nil, nil), `"v=DMARC1; p=reject"`, 300, 0},
		{"no dmarc name", KindDMARC, reply("_dmarc."+d, dns.TypeTXT, true, dns.RcodeNameError, nil, nil, nil), "", 0, 0},
		{"dmarc alias", KindDMARC, reply("_dmarc."+d, dns.TypeTXT, true, 0, []string{"_dmarc." + d + " 300 CNAME d.dmarc.example."}, nil, nil), "CNAME d.dmarc.example.", 0, 0},
		{"caa", KindCAA, reply(d, dns.TypeCAA, true, 0, []string{d + ` 300 CAA 0 issue "letsencrypt.org"`}, nil, nil), `0 "issue" "letsencrypt.org"`, 300, 0},
		{"records of another name are ignored", KindA, reply(d, dns.TypeA, true, 0, []string{"evil.fr. 300 A 203.0.113.1"}, nil, nil), "", 0, 0},
		{"lame", KindA, reply(d, dns.TypeA, false, 0, nil, []string{"fr. 300 NS a.nic.fr."}, nil), "", 0, errLame},
		{"apex nxdomain", KindMX, reply(d, dns.TypeMX, true, dns.RcodeNameError, nil, nil, nil), "", 0, errNXDomain},
		{"refused", KindA, reply(d, dns.TypeA, false, dns.RcodeRefused, nil, nil, nil), "", 0, errRefused},
		{"another question", KindA, reply("x.fr.", dns.TypeA, true, 0, []string{"x.fr. 300 A 192.0.2.1"}, nil, nil), "", 0, errMismatch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ttl, err := parseChild(d, c.kind, c.msg)
			if c.err != errNone {
				if classOf(err) != c.err {
					t.Fatalf("error %v, want class %v", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.name == "huge spf" {
				if !strings.HasPrefix(got, "(") || !strings.Contains(got, "sha256") || len(got) > 200 {
					t.Errorf("huge value not bounded: %q", got)
				}
				return
			}
			if got != c.want || ttl != c.ttl {
				t.Errorf("got %q ttl %d, want %q ttl %d", got, ttl, c.want, c.ttl)
			}
		})
	}
}

// FuzzAnswer feeds arbitrary packets to the answer handling: unpacking,
// then every parser. Nothing may panic, and a value that comes out is
// bounded and on one line.
func FuzzAnswer(f *testing.F) {
	for _, m := range []*dns.Msg{
		reply("example.fr.", dns.TypeNS, false, 0, nil, []string{"example.fr. 3600 NS ns1.example.fr."}, []string{"ns1.example.fr. 3600 A 192.0.2.1"}),
		reply("example.fr.", dns.TypeTXT, true, 0, []string{`example.fr. 300 TXT "v=spf1 -all"`}, nil, nil),
		reply("example.fr.", dns.TypeDS, true, 0, []string{"example.fr. 300 DS 1 13 2 " + strings.Repeat("ab", 32)}, nil, nil),
		reply("_dmarc.example.fr.", dns.TypeTXT, true, 0, []string{`_dmarc.example.fr. 300 TXT "v=DMARC1"`}, nil, nil),
		reply("example.fr.", dns.TypeCAA, true, 0, []string{`example.fr. 300 CAA 0 issue "x"`}, nil, nil),
	} {
		b, _ := m.Pack()
		f.Add(b)
	}
	f.Add([]byte{0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 2, 'f', 'r', 0, 0, 2, 0, 1, 0xC0, 28})
	f.Fuzz(func(t *testing.T, b []byte) {
		m := new(dns.Msg)
		if m.Unpack(b) != nil {
			return
		}
		const d = "example.fr."
		check := func(v string) {
			if len(v) > maxValueLen+100 || strings.ContainsAny(v, "\n\t") {
				t.Fatalf("unbounded or multi-line value %q", v)
			}
		}
		if r, err := parseReferral(d, m); err == nil {
			check(joinValues(r.ns))
			check(joinValues(r.glue))
			check(joinValues(r.ds))
			if len(r.ns) == 0 {
				t.Fatal("referral without NS accepted")
			}
		}
		if ds, _, err := parseDS(d, m); err == nil {
			check(joinValues(ds))
		}
		for _, k := range childKinds {
			if v, _, err := parseChild(d, k, m); err == nil {
				check(v)
			}
		}
	})
}

// FuzzFastReferral: wherever the fast reader reads a referral, miekg/dns
// and parseReferral read the same one (the fast reader may leave more
// answers to them, never read one differently).
func FuzzFastReferral(f *testing.F) {
	for _, seed := range referralSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, ok := fastReferral("example.fr.", raw)
		if !ok {
			return
		}
		m := new(dns.Msg)
		if err := m.Unpack(raw); err != nil {
			// The fast reader skips the records it does not use; miekg/dns
			// refuses the packet when one of those is malformed. Both
			// readings of what is used are checked below when it parses.
			return
		}
		want, err := parseReferral("example.fr.", m)
		if err != nil {
			t.Fatalf("fast reader accepted what parseReferral refuses (%v): %+v", err, got)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("fast %+v\nslow %+v", got, want)
		}
	})
}

// referralSeeds are real-shaped referrals: signed with a DS, signed
// with an NSEC3 proof, glue in both families, compression, an
// authoritative answer, and odd ones for the fuzzer to start from.
func referralSeeds(t testing.TB) [][]byte {
	mk := func(edit func(m *dns.Msg)) []byte {
		m := new(dns.Msg)
		m.SetQuestion("example.fr.", dns.TypeNS)
		m.Response = true
		m.Ns = []dns.RR{rr(t, "example.fr. 86400 IN NS ns1.example.fr."), rr(t, "example.fr. 3600 IN NS NS.Hoster.NET."),
			rr(t, "example.fr. 3600 IN DS 12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
			rr(t, "example.fr. 3600 IN RRSIG DS 13 2 3600 20270101000000 20261201000000 1234 fr. AAAA")}
		m.Extra = []dns.RR{rr(t, "ns1.example.fr. 3600 IN A 192.0.2.1"), rr(t, "ns1.example.fr. 3600 IN AAAA 2001:db8::1"),
			rr(t, "other.fr. 3600 IN A 192.0.2.9")}
		m.SetEdns0(1232, true)
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
	return [][]byte{
		mk(nil),
		mk(func(m *dns.Msg) {
			m.Ns = append(m.Ns[:2], rr(t, "2T7B4G4VSA5SMI47K61MV5BV1A22BOJR.fr. 3600 IN NSEC3 1 1 0 - 2T7B4G4VSA5SMI47K61MV5BV1A22BOJS NS"))
		}),
		mk(func(m *dns.Msg) { m.Authoritative = true; m.Answer, m.Ns = m.Ns, nil }),
		mk(func(m *dns.Msg) { m.Extra = nil }),
		mk(func(m *dns.Msg) { m.Ns[0] = rr(t, "other.fr. 3600 IN NS ns.other.fr.") }),
		mk(func(m *dns.Msg) { m.Rcode = dns.RcodeServerFailure }),
		mk(func(m *dns.Msg) { m.Ns = append(m.Ns, rr(t, "fr. 300 IN SOA a. b. 1 2 3 4 5")) }),
	}
}

func rr(t testing.TB, s string) dns.RR {
	r, err := dns.NewRR(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The fast reader reads the common referrals itself, the same way.
func TestFastReferralReadsRealShapes(t *testing.T) {
	seeds := referralSeeds(t)
	for i, raw := range seeds[:4] {
		got, ok := fastReferral("example.fr.", raw)
		if !ok {
			t.Fatalf("seed %d: not read", i)
		}
		m := new(dns.Msg)
		if err := m.Unpack(raw); err != nil {
			t.Fatal(err)
		}
		want, err := parseReferral("example.fr.", m)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("seed %d: fast %+v\nslow %+v (%v)", i, got, want, err)
		}
	}
	for i, raw := range seeds[4:] {
		if _, ok := fastReferral("example.fr.", raw); ok {
			t.Errorf("odd seed %d read by the fast path", i+4)
		}
	}
}
