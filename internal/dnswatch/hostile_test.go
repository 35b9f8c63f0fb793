package dnswatch

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// hostileServer plays a parent zone "test." whose answers turn hostile
// when evil is set: each domain gets its own kind of bad answer.
type hostileServer struct {
	udp     *net.UDPConn
	tcp     net.Listener
	evil    atomic.Bool
	lossyNS atomic.Int32 // NS queries for the lossy domain
}

func startHostile(t *testing.T) *hostileServer {
	t.Helper()
	// UDP and TCP on the same port: the port the kernel picks for UDP may
	// be taken for TCP, so try again with another.
	var u *net.UDPConn
	var tl net.Listener
	for try := 0; ; try++ {
		var err error
		if u, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
			t.Fatal(err)
		}
		if tl, err = net.Listen("tcp", u.LocalAddr().String()); err == nil {
			break
		}
		u.Close()
		if try == 20 {
			t.Fatal(err)
		}
	}
	h := &hostileServer{udp: u, tcp: tl}
	srv := &dns.Server{Listener: tl, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		w.WriteMsg(h.referral(q, q.Question[0].Name))
	})}
	done := make(chan struct{})
	go func() { defer close(done); h.serveUDP() }()
	go srv.ActivateAndServe()
	t.Cleanup(func() { u.Close(); srv.Shutdown(); <-done })
	return h
}

func (h *hostileServer) addr() string { return h.udp.LocalAddr().String() }

// referral is the good answer: NS in the authority section, glue, and
// for DS queries an authoritative empty answer.
func (h *hostileServer) referral(q *dns.Msg, name string) *dns.Msg {
	r := new(dns.Msg)
	r.SetReply(q)
	if q.Question[0].Qtype == dns.TypeDS {
		r.Authoritative = true
		return r
	}
	ns, _ := dns.NewRR(name + " 3600 IN NS ns1.hoster.test.")
	glue, _ := dns.NewRR("ns1.hoster.test. 3600 IN A 127.0.0.1")
	r.Ns = []dns.RR{ns}
	r.Extra = []dns.RR{glue}
	return r
}

func (h *hostileServer) serveUDP() {
	buf := make([]byte, 65535)
	for {
		n, from, err := h.udp.ReadFromUDP(buf)
		if err != nil {
			return
		}
		q := new(dns.Msg)
		if q.Unpack(buf[:n]) != nil || len(q.Question) != 1 {
			continue
		}
		name := q.Question[0].Name
		label := strings.SplitN(name, ".", 2)[0]
		good := h.referral(q, name)
		if !h.evil.Load() || label == "good" {
			b, _ := good.Pack()
			h.udp.WriteToUDP(b, from)
			continue
		}
		var out []byte
		switch label {
		case "wrongid": // never the right ID
			good.Id ^= 0x5a5a
			out, _ = good.Pack()
		case "otherq": // an answer to another question, with the right ID
			other := h.referral(q, "victim.test.")
			other.Question[0].Name = "victim.test."
			out, _ = other.Pack()
		case "silent":
			continue
		case "lossy": // the first two NS queries are lost, the third answered
			if q.Question[0].Qtype == dns.TypeNS && h.lossyNS.Add(1) <= 2 {
				continue
			}
			out, _ = good.Pack()
		case "nx":
			r := new(dns.Msg)
			r.SetRcode(q, dns.RcodeNameError)
			out, _ = r.Pack()
		case "refused":
			r := new(dns.Msg)
			r.SetRcode(q, dns.RcodeRefused)
			out, _ = r.Pack()
		case "loop": // a compression pointer that points at itself
			b, _ := good.Pack()
			out = append(b[:12+len(name)+1+4:12+len(name)+1+4], 0xC0, byte(12+len(name)+1+4))
			out[7] = 1 // ANCOUNT 1
			out[9], out[11] = 0, 0
		case "trunc": // cut in the middle of a record, TC not set
			b, _ := good.Pack()
			out = b[:len(b)-7]
		case "tc": // truncated: the real answer is over TCP
			r := new(dns.Msg)
			r.SetReply(q)
			r.Truncated = true
			out, _ = r.Pack()
		case "hugens": // thousands of NS records for the domain
			r := h.referral(q, name)
			for i := 0; i < 3000; i++ {
				ns, _ := dns.NewRR(name + " 3600 IN NS ns" + strings.Repeat("x", i%60) + ".evil.")
				r.Ns = append(r.Ns, ns)
			}
			r.Compress = true
			out, _ = r.Pack()
		case "notref": // NOERROR with no referral, as for a name the parent serves itself
			r := new(dns.Msg)
			r.SetReply(q)
			r.Authoritative = true
			soa, _ := dns.NewRR("test. 3600 IN SOA ns.test. h.test. 2 3600 600 86400 300")
			r.Ns = []dns.RR{soa}
			out, _ = r.Pack()
		case "othername": // a referral for another domain, right question
			r := new(dns.Msg)
			r.SetReply(q)
			ns, _ := dns.NewRR("victim.test. 3600 IN NS ns1.evil.")
			r.Ns = []dns.RR{ns}
			out, _ = r.Pack()
		case "garbage":
			out = []byte{buf[0], buf[1], 0x81, 0x80, 0xff, 0xff, 0xff, 0xff, 1, 2, 3}
		default:
			out, _ = good.Pack()
		}
		if len(out) > 65000 {
			out = out[:65000]
		}
		h.udp.WriteToUDP(out, from)
	}
}

// Hostile and malformed parent answers are errors for their domain, never
// drift, never a crash; the truncated one is read over TCP; lost packets
// are asked again.
func TestHostileParentAnswers(t *testing.T) {
	h := startHostile(t)
	labels := []string{"good", "wrongid", "otherq", "silent", "nx", "refused", "loop", "trunc", "tc", "hugens", "notref", "othername", "garbage", "lossy"}
	var lines []string
	for _, l := range labels {
		lines = append(lines, l+".test")
	}
	m, err := New(Options{Parents: map[string][]string{"test.": {h.addr()}}, Timeout: time.Second,
		Retries: 2, Backoff: 10 * time.Millisecond, InFlight: 50})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.SetInventory(Inventory{Lines: lines}.Scan); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := m.Sweep(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) != 0 || res.Learned != 3*len(labels) {
		t.Fatalf("good sweep: errors %v, learned %d", res.Errors, res.Learned)
	}
	h.evil.Store(true)
	res, err = m.Sweep(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	// Only hugens really changed its NS (to 3000 names); the value is
	// kept bounded.
	if len(res.Drifts) != 1 || res.Drifts[0].Domain != "hugens.test." || len(res.Drifts[0].Observed) > maxValueLen {
		t.Fatalf("hostile answers read as drift: %+v", res.Drifts)
	}
	want := map[string]errClass{
		"wrongid": errTimeout, "otherq": errTimeout, "silent": errTimeout, "nx": errNXDomain, "refused": errRefused,
		"loop": errMalformed, "trunc": errMalformed, "notref": errNotDelegated, "othername": errMismatch, "garbage": errTimeout, // too short to be a DNS answer: dropped
	}
	for _, l := range labels {
		d := &m.domains[m.find(l+".test.")]
		if w, ok := want[l]; ok {
			if d.errs[KindNS] != w {
				t.Errorf("%s: error %v, want %v", l, d.errs[KindNS], w)
			}
			continue
		}
		if d.errs[KindNS] != errNone {
			t.Errorf("%s: unexpected error %v", l, d.errs[KindNS])
		}
	}
	if n := h.lossyNS.Load(); n < 3 {
		t.Errorf("lossy: asked %d times, want 3 or more (two losses, then the answer)", n)
	}
	if m.stats.unexpected.Load() == 0 || m.stats.tcpRetries.Load() == 0 {
		t.Errorf("unexpected packets %d, TCP retries %d", m.stats.unexpected.Load(), m.stats.tcpRetries.Load())
	}
}
