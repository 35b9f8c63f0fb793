package dnswatch

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/miekg/dns"
)

// The hand-packed query is the one miekg/dns packs.
func TestAppendQueryMatchesMiekg(t *testing.T) {
	for _, c := range []struct {
		name   string
		qtype  uint16
		dnssec bool
	}{{"example.fr.", dns.TypeNS, true}, {"_dmarc.x-y.example.", dns.TypeTXT, false}, {"A.B.", dns.TypeCAA, false}} {
		got, ok := appendQuery(nil, c.name, c.qtype, c.dnssec)
		if !ok {
			t.Fatalf("%s: not handled", c.name)
		}
		m := newQuery(c.name, c.qtype, c.dnssec)
		m.Id = 0
		want, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %x\nwant %x", c.name, got, want)
		}
	}
	for _, bad := range []string{"", "x", "a..b.", "a\\.b.", "a b.", "ü.fr."} {
		if _, ok := appendQuery(nil, bad, dns.TypeA, false); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzDeliver feeds arbitrary packets to the client's reader while a
// query waits: a packet is handed over only if it carries the query's
// ID, comes from its server and repeats its question; nothing panics.
func FuzzDeliver(f *testing.F) {
	q, _ := appendQuery(nil, "example.fr.", dns.TypeNS, true)
	good := append([]byte(nil), q...)
	good[2] = 0x80
	f.Add(good, true)
	f.Add([]byte{0, 0, 0x80}, true)
	f.Add(append([]byte{0, 0, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0}, "\x07EXAMPLE\x02fr\x00\x00\x02\x00\x01"...), false)
	server := netip.MustParseAddrPort("192.0.2.53:53")
	f.Fuzz(func(t *testing.T, pkt []byte, fromServer bool) {
		c := &client{stats: &clientStats{}}
		s := &udpSock{pending: map[uint16]*call{}}
		cl := &call{server: server, question: q[12:questionEnd(q)], done: make(chan []byte, 1)}
		s.pending[0] = cl
		from := server
		if !fromServer {
			from = netip.MustParseAddrPort("203.0.113.9:53")
		}
		got := c.deliver(s, pkt, from)
		want := len(pkt) >= 12 && pkt[0] == 0 && pkt[1] == 0 && fromServer &&
			len(pkt) >= questionEnd(q) && asciiFold(pkt[12:questionEnd(q)]) == asciiFold(q[12:questionEnd(q)])
		if got != want {
			t.Fatalf("delivered %v, want %v", got, want)
		}
		if got && !bytes.Equal(<-cl.done, pkt) {
			t.Fatal("the packet changed on the way")
		}
	})
}

func asciiFold(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 32
		}
		out[i] = c
	}
	return string(out)
}
