package dnswatch

import (
	"context"
	"net"
	"net/netip"
	"reflect"
	"testing"

	"github.com/miekg/dns"
)

// The servers of a TLD not set in the config are found through the
// resolver: its NS, then their addresses. Nothing is sent to them here.
func TestDiscoverParentsThroughResolver(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		r := new(dns.Msg)
		r.SetReply(q)
		r.RecursionAvailable = true
		add := func(s string) { rr, _ := dns.NewRR(s); r.Answer = append(r.Answer, rr) }
		switch qq := q.Question[0]; {
		case qq.Name == "alpha." && qq.Qtype == dns.TypeNS:
			add("alpha. 3600 NS b.nic.example.")
			add("alpha. 3600 NS A.NIC.example.")
		case qq.Name == "a.nic.example." && qq.Qtype == dns.TypeA:
			add("a.nic.example. 3600 A 192.0.2.1")
		case qq.Name == "a.nic.example." && qq.Qtype == dns.TypeAAAA:
			add("a.nic.example. 3600 AAAA 2001:db8::1")
		case qq.Name == "b.nic.example." && qq.Qtype == dns.TypeA:
			add("b.nic.example. 3600 A 192.0.2.2")
		default:
			r.Rcode = dns.RcodeNameError
		}
		w.WriteMsg(r)
	})}
	go srv.ActivateAndServe()
	defer srv.Shutdown()

	m, err := New(Options{Resolver: pc.LocalAddr().String(), Parents: map[string][]string{"bravo.": {"127.0.0.1:5353"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.SetInventory(Inventory{Lines: []string{"x.alpha", "y.bravo", "z.charlie"}}.Scan)
	m.prepareZones(context.Background())
	want := []netip.AddrPort{netip.MustParseAddrPort("192.0.2.1:53"), netip.MustParseAddrPort("192.0.2.2:53"),
		netip.MustParseAddrPort("[2001:db8::1]:53")}
	if got := m.zoneServers("alpha."); !reflect.DeepEqual(got, want) {
		t.Errorf("alpha.: %v, want %v", got, want)
	}
	if got := m.zoneServers("bravo."); len(got) != 1 || got[0].String() != "127.0.0.1:5353" {
		t.Errorf("bravo. from the config: %v", got)
	}
	if z := m.zones[m.zoneIdx["charlie."]]; z.err == nil || len(z.servers) != 0 {
		t.Errorf("charlie. has no servers: %+v", z)
	}
}
