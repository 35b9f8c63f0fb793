package dnswatch

import (
	"bytes"
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
