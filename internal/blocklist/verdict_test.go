package blocklist

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func addrs(s ...string) []netip.Addr {
	var out []netip.Addr
	for _, x := range s {
		out = append(out, netip.MustParseAddr(x))
	}
	return out
}

func TestJudge(t *testing.T) {
	zs, err := ParseData("t", []byte(`zones:
  - zone: zen.example
    provider: p
    kind: ip
    codes: {127.0.0.2: "SBL", 127.0.0.4: "XBL"}
    errors: {127.255.255.254: "public resolver", 127.255.255.255: "over limit"}
  - zone: multi.example
    provider: q
    kind: domain
    bitmask: true
    codes: {127.0.0.2: "black", 127.0.0.4: "grey", 127.0.0.8: "red"}
    errors: {127.0.0.1: "refused"}
`))
	if err != nil {
		t.Fatal(err)
	}
	zen, multi := zs[0], zs[1]
	many := make([]netip.Addr, maxAnswers+1)
	for i := range many {
		many[i] = netip.AddrFrom4([4]byte{127, 0, 0, byte(i + 2)})
	}
	cases := []struct {
		name   string
		z      *Zone
		l      lookup
		status Status
		want   string // in Why or Meanings
	}{
		{"nxdomain", zen, lookup{Rcode: dns.RcodeNameError}, Clear, ""},
		{"nodata", zen, lookup{}, Clear, ""},
		{"listed", zen, lookup{Addrs: addrs("127.0.0.2")}, Listed, "SBL"},
		{"two codes", zen, lookup{Addrs: addrs("127.0.0.4", "127.0.0.2", "127.0.0.2")}, Listed, "SBL; XBL"},
		{"undocumented", zen, lookup{Addrs: addrs("127.0.0.77")}, Listed, "not documented"},
		{"error code", zen, lookup{Addrs: addrs("127.255.255.254")}, Unknown, "public resolver"},
		{"error among codes", zen, lookup{Addrs: addrs("127.0.0.2", "127.255.255.255")}, Unknown, "over limit"},
		{"outside 127/8", zen, lookup{Addrs: addrs("192.0.2.1")}, Unknown, "outside 127.0.0.0/8"},
		{"outside among codes", zen, lookup{Addrs: addrs("127.0.0.2", "93.184.216.34")}, Unknown, "outside"},
		{"ipv6 answer", zen, lookup{Addrs: addrs("::1")}, Unknown, "outside"},
		{"servfail", zen, lookup{Rcode: dns.RcodeServerFailure}, Unknown, "SERVFAIL"},
		{"refused", zen, lookup{Rcode: dns.RcodeRefused}, Unknown, "REFUSED"},
		{"odd rcode", zen, lookup{Rcode: 3841}, Unknown, "RCODE 3841"},
		{"timeout", zen, lookup{Err: errors.New("no answer within 5s")}, Unknown, "no answer within 5s"},
		{"not addresses", zen, lookup{Other: 2}, Unknown, "not addresses"},
		{"too many", zen, lookup{Addrs: many}, Unknown, "33 addresses"},
		{"bitmask", multi, lookup{Addrs: addrs("127.0.0.14")}, Listed, "black; grey; red"},
		{"bitmask unknown bit", multi, lookup{Addrs: addrs("127.0.0.66")}, Listed, "black; bit 64 of 127.0.0.66: not documented"},
		{"bitmask refused", multi, lookup{Addrs: addrs("127.0.0.1")}, Unknown, "refused"},
	}
	for _, c := range cases {
		v := c.z.judge(c.l)
		text := v.Why + strings.Join(v.Meanings, "; ")
		if v.Status != c.status || !strings.Contains(text, c.want) {
			t.Errorf("%s: %s %q, want %s with %q", c.name, v.Status, text, c.status, c.want)
		}
		if v.Status == Unknown && !strings.HasPrefix(v.Why, "unknown, because ") {
			t.Errorf("%s: %q", c.name, v.Why)
		}
	}
}

func TestQueryName(t *testing.T) {
	for _, c := range []struct{ target, zone, want string }{
		{"192.0.2.99", "zen.spamhaus.org", "99.2.0.192.zen.spamhaus.org."},
		{"::ffff:192.0.2.99", "bl.example", "99.2.0.192.bl.example."},
		// RFC 5782 section 2.4.
		{"2001:db8:1:2:3:4:567:89ab", "ugly.example.com", "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ugly.example.com."},
		{"Example.ORG.", "dbl.spamhaus.org", "example.org.dbl.spamhaus.org."},
	} {
		tg, err := ParseTarget(c.target)
		if err != nil {
			t.Fatal(err)
		}
		got, err := queryName(tg, c.zone)
		if err != nil || got != c.want {
			t.Errorf("queryName(%s, %s) = %q, %v; want %q", c.target, c.zone, got, err, c.want)
		}
	}
	long, _ := ParseTarget(strings.Repeat("a.", 120) + "org")
	if _, err := queryName(long, "dbl.spamhaus.org"); err == nil {
		t.Error("a name longer than DNS allows was built")
	}
	for _, bad := range []string{"", "a..b", "-a.org", "a b.org", "fe80::1%eth0", "ex\x00ample.org", strings.Repeat("a", 64) + ".org"} {
		if _, err := ParseTarget(bad); err == nil {
			t.Errorf("ParseTarget(%q) accepted", bad)
		}
	}
}

func TestReasonBoundedAndValid(t *testing.T) {
	m := new(dns.Msg)
	hdr := dns.RR_Header{Name: "x.", Rrtype: dns.TypeTXT, Class: dns.ClassINET}
	m.Answer = append(m.Answer, &dns.TXT{Hdr: hdr, Txt: []string{"first", " part"}},
		&dns.TXT{Hdr: hdr, Txt: []string{strings.Repeat("é", 2000)}},
		&dns.A{Hdr: dns.RR_Header{Name: "x.", Rrtype: dns.TypeA, Class: dns.ClassINET}, A: net.IPv4(127, 0, 0, 2)})
	r := reasonOf(m)
	if len(r) > maxReason || !strings.HasPrefix(r, "first part | éé") || !strings.HasSuffix(r, "[truncated]") {
		t.Errorf("reason %d bytes: %q...", len(r), r[:40])
	}
	// What miekg/dns makes of the bytes on the wire, back to the bytes.
	wire := new(dns.Msg)
	wire.SetQuestion("x.", dns.TypeTXT)
	wire.Answer = []dns.RR{&dns.TXT{Hdr: hdr, Txt: []string{"déjà \"vu\" \\\\ \x1b[31m"}}}
	packedMsg, _ := wire.Pack()
	back := new(dns.Msg)
	if err := back.Unpack(packedMsg); err != nil {
		t.Fatal(err)
	}
	if got := reasonOf(back); got != "déjà \"vu\" \\ \x1b[31m" {
		t.Errorf("TXT bytes not kept as sent: %q (from %q)", got, back.Answer[0].(*dns.TXT).Txt[0])
	}
	if got := truncate("a\xffb", 10); got != "a\uFFFDb" {
		t.Errorf("invalid UTF-8 kept: %q", got)
	}
}
