package dnswatch

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

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
		c := &client{stats: &clientStats{}, rtt: newRTTTable(minRTO, time.Second), epoch: time.Now()}
		s := newSock(nil)
		c.socks = []*udpSock{s}
		var got []byte
		calls := 0
		wire := append([]byte(nil), q...)
		cl := &call{server: server, wire: wire, question: wire[12:questionEnd(wire)], seq: 1,
			h: handlerFunc(func(raw []byte) { calls++; got = append([]byte(nil), raw...) })}
		s.slots[0], s.n, s.seq = cl, 1, 1
		c.inflight.Store(1)
		from := server
		if !fromServer {
			from = netip.MustParseAddrPort("203.0.113.9:53")
		}
		if len(pkt) >= 3 {
			pkt[2] &^= 0x02 // no TC: a truncated answer is asked again over TCP, not handed over
		}
		delivered := c.deliver(s, pkt, from)
		want := len(pkt) >= 12 && pkt[0] == 0 && pkt[1] == 0 && fromServer &&
			len(pkt) >= questionEnd(q) && asciiFold(pkt[12:questionEnd(q)]) == asciiFold(q[12:questionEnd(q)])
		if delivered != want {
			t.Fatalf("delivered %v, want %v", delivered, want)
		}
		if delivered != (calls == 1) || (delivered && (s.slots[0] != nil || s.n != 0)) {
			t.Fatalf("delivered %v, callback called %d times, slot %v", delivered, calls, s.slots[0])
		}
		if delivered && !bytes.Equal(got, pkt) {
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

// handlerFunc is an answerHandler that takes the raw answer.
type handlerFunc func(raw []byte)

func (f handlerFunc) answered(raw []byte, _ *dns.Msg, _ error) { f(raw) }
func (f handlerFunc) query() *dns.Msg                          { return nil }
