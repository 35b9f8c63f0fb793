package dnswatch

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/miekg/dns"
)

// asker sends one question to a set of servers with rate limits, retries
// and backoff, and returns the first usable answer.
type asker struct {
	c       *client
	lim     *limiter
	win     *windows
	retries int           // extra attempts after the first
	backoff time.Duration // first pause between attempts; doubles
}

// newQuery builds a non-recursive query with EDNS0 (1232-byte answers, the
// DNS flag day size) and, when dnssec, the DO bit so that a signed parent
// includes the DS in its referral.
func newQuery(name string, qtype uint16, dnssec bool) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = false
	m.SetEdns0(1232, dnssec)
	return m
}

// ask tries servers in turn, starting at a random one, until parse
// accepts an answer, an error says retrying is pointless, or the attempts
// are spent. It returns the server that answered.
func (a *asker) ask(ctx context.Context, servers []netip.AddrPort, name string, qtype uint16, dnssec bool,
	parse func(*dns.Msg) error) (netip.AddrPort, error) {
	return a.askFast(ctx, servers, name, qtype, dnssec, nil, parse)
}

// askFast is ask with a fast reader for the answers most servers send:
// fast reads the raw UDP answer and says whether it could (handled); an
// answer it leaves goes through miekg/dns and parse, which decide for
// every unusual case (errors included), so both paths agree.
func (a *asker) askFast(ctx context.Context, servers []netip.AddrPort, name string, qtype uint16, dnssec bool,
	fast func(raw []byte) (handled bool), parse func(*dns.Msg) error) (netip.AddrPort, error) {
	if len(servers) == 0 {
		return netip.AddrPort{}, qerr(errNoAddress, "no server to ask for %s", name)
	}
	start := 0
	if len(servers) > 1 {
		start = rand.IntN(len(servers))
	}
	var last error
	pause := a.backoff
	attempts := 1 + a.retries
	if attempts < len(servers) {
		attempts = len(servers) // every server gets one chance
	}
	for i := 0; i < attempts; i++ {
		srv := servers[(start+i)%len(servers)]
		if err := a.lim.wait(ctx, srv); err != nil {
			return srv, err
		}
		w, err := a.win.acquire(ctx, srv)
		if err != nil {
			return srv, err
		}
		var m *dns.Msg
		var raw []byte
		if wire, ok := appendQuery(make([]byte, 0, 64), name, qtype, dnssec); ok {
			raw, m, err = a.c.exchangeWire(ctx, srv, wire, func() *dns.Msg { return newQuery(name, qtype, dnssec) })
		} else {
			m, err = a.c.exchange(ctx, srv, newQuery(name, qtype, dnssec))
		}
		a.win.release(w, classOf(err) == errTimeout)
		if err == nil && raw != nil {
			if fast != nil && fast(raw) {
				return srv, nil
			}
			m, err = unpackAnswer(srv, raw)
		}
		if err == nil {
			err = parse(m)
			if err == nil {
				return srv, nil
			}
		}
		if ctx.Err() != nil {
			return srv, ctx.Err()
		}
		last = err
		if !retryable(classOf(err)) {
			return srv, err
		}
		if i+1 < attempts && i+1 >= len(servers) {
			// Every server had its chance: wait before going round again.
			t := time.NewTimer(pause + time.Duration(rand.Int64N(int64(pause)/2+1)))
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return srv, ctx.Err()
			}
			pause *= 2
		}
	}
	return netip.AddrPort{}, last
}
