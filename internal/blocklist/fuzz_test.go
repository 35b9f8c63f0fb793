package blocklist

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/miekg/dns"
)

func packed(t testing.TB, rcode int, rrs ...dns.RR) []byte {
	m := new(dns.Msg)
	m.SetQuestion("2.0.0.127.zen.example.", dns.TypeA)
	m.Response, m.Rcode, m.Answer = true, rcode, rrs
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func aRR(ip string) dns.RR {
	return &dns.A{Hdr: dns.RR_Header{Name: "2.0.0.127.zen.example.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.ParseIP(ip)}
}

func txtRR(s ...string) dns.RR {
	return &dns.TXT{Hdr: dns.RR_Header{Name: "2.0.0.127.zen.example.", Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60}, Txt: s}
}

// FuzzAnswer feeds arbitrary DNS messages (what a zone under someone
// else's control can send) to the answer handling: never a panic, never
// "listed" for an answer outside 127.0.0.0/8 or with an error code, and
// the reason is bounded, valid text.
func FuzzAnswer(f *testing.F) {
	f.Add(packed(f, dns.RcodeSuccess, aRR("127.0.0.2"), txtRR("listed, see https://example")))
	f.Add(packed(f, dns.RcodeSuccess, aRR("127.255.255.254")))
	f.Add(packed(f, dns.RcodeSuccess, aRR("192.0.2.1"), aRR("127.0.0.2")))
	f.Add(packed(f, dns.RcodeSuccess, aRR("127.0.0.14")))
	f.Add(packed(f, dns.RcodeNameError))
	f.Add(packed(f, dns.RcodeServerFailure))
	f.Add(packed(f, dns.RcodeSuccess, txtRR(strings.Repeat("x", 255), strings.Repeat("\xff", 255))))
	zs, err := ParseData("fuzz", []byte(`zones:
  - zone: zen.example
    provider: p
    kind: ip
    codes: {127.0.0.2: "SBL"}
    errors: {127.255.255.254: "public resolver"}
  - zone: multi.example
    provider: q
    kind: domain
    bitmask: true
    codes: {127.0.0.2: "black"}
    errors: {127.0.0.1: "refused"}
`))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m := new(dns.Msg)
		if err := m.Unpack(b); err != nil {
			return
		}
		l := lookupOf(m)
		for _, z := range zs {
			v := z.judge(l)
			switch v.Status {
			case Listed:
				if len(v.Codes) == 0 || len(v.Meanings) == 0 {
					t.Fatalf("listed without codes: %+v", v)
				}
				for _, c := range v.Codes {
					a, err := netip.ParseAddr(c)
					if err != nil || !loopback8.Contains(a) {
						t.Fatalf("listed with code %q outside 127/8", c)
					}
					if _, isErr := z.errors[a]; isErr {
						t.Fatalf("listed with error code %s", c)
					}
				}
			case Unknown:
				if !strings.HasPrefix(v.Why, "unknown, because ") {
					t.Fatalf("unknown without a reason: %+v", v)
				}
			case Clear:
			default:
				t.Fatalf("status %q", v.Status)
			}
		}
		r := reasonOf(m)
		if len(r) > maxReason || !utf8.ValidString(r) {
			t.Fatalf("reason of %d bytes, valid=%v", len(r), utf8.ValidString(r))
		}
	})
}

// FuzzTarget checks target parsing and query names: what parses makes a
// name DNS can carry, or a clear error.
func FuzzTarget(f *testing.F) {
	for _, s := range []string{"192.0.2.1", "2001:db8::1", "::ffff:1.2.3.4", "Example.ORG.", "xn--bcher-kva.example", "fe80::1%eth0", "a..b", "", strings.Repeat("a.", 130)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tg, err := ParseTarget(s)
		if err != nil {
			return
		}
		if tg.IsIP() != tg.Addr.IsValid() || tg.Name == "" {
			t.Fatalf("target %+v", tg)
		}
		again, err := ParseTarget(tg.Name)
		if err != nil || again.Name != tg.Name {
			t.Fatalf("%q -> %q does not parse back: %v", s, tg.Name, err)
		}
		name, err := queryName(tg, "zen.spamhaus.org")
		if err != nil {
			return
		}
		if _, ok := dns.IsDomainName(name); !ok || len(name) > 254 || !strings.HasSuffix(name, ".zen.spamhaus.org.") {
			t.Fatalf("query name %q for %q", name, s)
		}
	})
}

// FuzzPostfixConfig checks the main.cf and postconf output readers.
func FuzzPostfixConfig(f *testing.F) {
	f.Add([]byte("inet_interfaces = all\nsmtp_bind_address = 192.0.2.1\n  , 192.0.2.2\n# c\n"))
	f.Add([]byte("relay/unix/smtp_bind_address = 192.0.2.3\n"))
	f.Add([]byte("=\n \n\t=x\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, m := range []map[string]string{ParseMainCF(b), parsePostconf(b)} {
			s := settingsFrom(m, []string{m["smtp_bind_address"]})
			ts, _ := sendingAddrs(&s, addrsOrNil())
			for _, tg := range ts {
				if !IsPublic(tg.Addr) {
					t.Fatalf("non-public %s chosen", tg.Name)
				}
			}
		}
		for k := range ParseMainCF(b) {
			if k != strings.TrimSpace(k) || strings.Contains(k, "=") {
				t.Fatalf("key %q", k)
			}
		}
	})
}

func addrsOrNil() []netip.Addr {
	return []netip.Addr{netip.MustParseAddr("5.6.7.8"), netip.MustParseAddr("10.0.0.1")}
}

// FuzzData checks the zone data reader (a site's zones_file).
func FuzzData(f *testing.F) {
	f.Add(DefaultData)
	f.Add([]byte("zones:\n  - zone: x.example\n    provider: x\n    kind: ip\n    codes: {127.0.0.2: a}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		zs, err := ParseData("fuzz", b)
		if err != nil {
			return
		}
		for _, z := range zs {
			if z.Kind != KindNone && z.Dead == "" && len(z.Health.Listed) == 0 {
				t.Fatalf("a live zone without a listed health entry: %+v", z)
			}
			for a := range z.codes {
				if !loopback8.Contains(a) {
					t.Fatalf("code %s outside 127/8", a)
				}
			}
		}
		NewCatalog(zs, zs, nil)
	})
}
