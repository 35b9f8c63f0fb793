package demo

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/vigie/vigie/internal/dnswatch"
	"github.com/vigie/vigie/internal/vigie"
)

// 3. A registrar's partner portal is used to switch the NS of 751 of its
// 1,000 domains, across 34 TLDs, in 100 minutes (Gandi, 2017).
//
// The demo plays the registries: two name servers on 127.0.0.1 serve the
// 34 TLD zones with the registrar's delegations. The DNS watch's own code
// (dnswatch.Monitor, dnswatch.Reporter) learns the baseline in a first
// sweep, then sweeps every 15 minutes of the scenario's clock while the
// servers switch the domains one after the other to the rogue NS set; the
// drift findings come from the watch's comparison of what the servers
// answer with the baseline. The servers stop when the sweeps are done.
var hijackTLDs = []string{"fr", "com", "net", "org", "eu", "de", "be", "ch", "it", "es", "nl", "co.uk", "io", "info", "biz", "me", "tv",
	"cc", "pl", "pt", "at", "se", "dk", "fi", "no", "lu", "ca", "us", "re", "pm", "tf", "wf", "yt", "paris"}

const (
	hijackedDomains = 751
	portfolio       = 1000 // the registrar's domains: the first 751 are hijacked
	sweepEvery      = 15 * time.Minute
)

var (
	legitNS = []string{"ns1.registrar.example.", "ns2.registrar.example.", "ns3.registrar.example."}
	rogueNS = []string{"ns1.rogue-dns.example.", "ns2.rogue-dns.example."}
)

// HijackedDomain is the i-th domain of the registrar (the first 751 are
// hijacked).
func HijackedDomain(i int) string {
	return fmt.Sprintf("client-%03d.%s", i, hijackTLDs[i%len(hijackTLDs)])
}

func hijackWindow(now time.Time) (time.Time, time.Time) {
	start := now.Add(-5 * time.Hour).Truncate(time.Minute)
	return start, start.Add(100 * time.Minute)
}

// switchTime is when domain i (< hijackedDomains) is moved to the rogue set.
func switchTime(now time.Time, i int) time.Time {
	start, end := hijackWindow(now)
	return start.Add(time.Duration(i) * end.Sub(start) / hijackedDomains)
}

func nsHijack() Scenario {
	return Scenario{
		Name:  "ns-hijack",
		Title: "751 domains' NS switched at the registries",
		Run: func(ctx context.Context, env *Env) (Result, error) {
			reg := newRegistry()
			addrs, stop, err := reg.serve(2)
			if err != nil {
				return Result{}, errorf("ns-hijack", "starting the TLD servers: %w", err)
			}
			defer stop()
			parents := map[string][]string{}
			for _, t := range hijackTLDs {
				parents[t+"."] = addrs
			}
			var clock time.Time
			now := func() time.Time { return clock }
			m, err := dnswatch.New(dnswatch.Options{Parents: parents, Timeout: time.Second, Retries: 2,
				Backoff: 50 * time.Millisecond, InFlight: 256, Now: now})
			if err != nil {
				return Result{}, err
			}
			defer m.Close()
			var inv []string
			for i := range portfolio {
				inv = append(inv, HijackedDomain(i))
			}
			if _, err := m.SetInventory(dnswatch.Inventory{Lines: inv}.Scan); err != nil {
				return Result{}, err
			}
			c := &collector{}
			rep := &dnswatch.Reporter{Sink: c, State: env.Store, Now: now}
			var res Result
			start, end := hijackWindow(env.Now)
			for clock = start.Add(-sweepEvery); !clock.After(end.Add(sweepEvery)); clock = clock.Add(sweepEvery) {
				reg.switchUntil(env.Now, clock)
				began := time.Now()
				sw, err := m.Sweep(ctx, false)
				if err != nil {
					return res, err
				}
				// A domain that could not be read is counted by the sweep and
				// read again by the next one, as in the daemon.
				open, err := rep.Report(ctx, m, sw)
				if err != nil {
					return res, err
				}
				res.Samples = append(res.Samples,
					vigie.Sample{Series: string(dnswatch.SeriesDriftDomains), Time: clock, Value: float64(open)},
					vigie.Sample{Series: string(dnswatch.SeriesSweepSeconds), Subject: "delegation", Time: clock, Value: time.Since(began).Seconds()})
			}
			res.Findings = c.out
			return res, nil
		},
	}
}

// registry serves the TLD zones of the scenario: each domain delegated to
// the registrar's servers, or to the rogue ones once switched.
type registry struct {
	mu       sync.RWMutex
	serial   uint32
	index    map[string]int // fqdn -> i
	switched int            // domains 0..switched-1 point at the rogue set
}

func newRegistry() *registry {
	r := &registry{serial: 2017070601, index: map[string]int{}}
	for i := range portfolio {
		r.index[HijackedDomain(i)+"."] = i
	}
	return r
}

// switchUntil moves the domains whose switch time is not after t.
func (r *registry) switchUntil(now, t time.Time) {
	n := 0
	for n < hijackedDomains && !switchTime(now, n).After(t) {
		n++
	}
	r.mu.Lock()
	if n != r.switched {
		r.switched = n
		r.serial++
	}
	r.mu.Unlock()
}

// serve starts n servers on 127.0.0.1 (UDP) and returns their addresses
// and a function that stops them.
func (r *registry) serve(n int) ([]string, func(), error) {
	var addrs []string
	var servers []*dns.Server
	stop := func() {
		for _, s := range servers {
			s.Shutdown()
		}
	}
	for range n {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			stop()
			return nil, nil, err
		}
		started := make(chan struct{})
		s := &dns.Server{PacketConn: pc, Handler: r, NotifyStartedFunc: func() { close(started) }}
		servers = append(servers, s)
		go s.ActivateAndServe() // returns when Shutdown closes pc
		<-started
		addrs = append(addrs, pc.LocalAddr().String())
	}
	return addrs, stop, nil
}

// ServeDNS answers as a TLD server: referrals for delegated names,
// authoritative answers (SOA, no DS) for the rest.
func (r *registry) ServeDNS(w dns.ResponseWriter, q *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(q)
	defer w.WriteMsg(m)
	if len(q.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		return
	}
	qq := q.Question[0]
	name := strings.ToLower(qq.Name)
	zone := ""
	for _, t := range hijackTLDs {
		if z := t + "."; (name == z || strings.HasSuffix(name, "."+z)) && len(z) > len(zone) {
			zone = z
		}
	}
	if zone == "" {
		m.Rcode = dns.RcodeRefused
		return
	}
	r.mu.RLock()
	serial, switched := r.serial, r.switched
	r.mu.RUnlock()
	soa := &dns.SOA{Hdr: dns.RR_Header{Name: zone, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 3600},
		Ns: "a.nic." + zone, Mbox: "hostmaster.nic." + zone, Serial: serial, Refresh: 3600, Retry: 600, Expire: 604800, Minttl: 3600}
	// The delegated domain at or above name.
	deleg, i := "", -1
	for d := name; d != zone && d != ""; {
		if j, ok := r.index[d]; ok {
			deleg, i = d, j
			break
		}
		_, d, _ = strings.Cut(d, ".")
	}
	switch {
	case name == zone:
		m.Authoritative = true
		if qq.Qtype == dns.TypeSOA {
			m.Answer = append(m.Answer, soa)
		} else {
			m.Ns = append(m.Ns, soa)
		}
	case i < 0:
		m.Authoritative = true
		m.Rcode = dns.RcodeNameError
		m.Ns = append(m.Ns, soa)
	case name == deleg && qq.Qtype == dns.TypeDS:
		m.Authoritative = true // unsigned delegation: no DS
		m.Ns = append(m.Ns, soa)
	default:
		ns := legitNS
		if i < switched {
			ns = rogueNS
		}
		for _, n := range ns {
			m.Ns = append(m.Ns, &dns.NS{Hdr: dns.RR_Header{Name: deleg, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: 86400}, Ns: n})
		}
	}
}
