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
// every unusual case (errors included), so both paths agree. It waits
// for askAsync.
func (a *asker) askFast(ctx context.Context, servers []netip.AddrPort, name string, qtype uint16, dnssec bool,
	fast func(raw []byte) (handled bool), parse func(*dns.Msg) error) (netip.AddrPort, error) {
	type result struct {
		srv netip.AddrPort
		err error
	}
	ch := make(chan result, 1)
	a.askAsync(ctx, servers, name, qtype, dnssec, &askFuncs{fast, parse, func(srv netip.AddrPort, err error) { ch <- result{srv, err} }})
	var r result
	select {
	case r = <-ch:
	case <-ctx.Done():
		a.c.abortCtx(ctx)
		r = <-ch // fast and parse write the caller's variables: wait for the end
	case <-a.c.brk.done():
		r = <-ch // the breaker ends the queries in flight
	}
	return r.srv, r.err
}

// askOp is one question asked with askAsync: its state between the
// events (answer, timeout, free window slot, end of a pause) that move
// it on. No goroutine waits for it.
type askOp struct {
	a        *asker
	ctx      context.Context
	servers  []netip.AddrPort
	name     string
	qtype    uint16
	dnssec   bool
	h        askHandler
	first    int // index of the first server asked
	i        int // attempt
	attempts int
	pause    time.Duration
	last     error
	srv      netip.AddrPort
	w        *window
	epoch    uint64   // the window's, when the query was admitted
	buf      [96]byte // the query's packet, most names
}

// askHandler reads the answers of a question asked with askAsync.
type askHandler interface {
	// fast reads the raw UDP answer if it can (handled); an answer it
	// leaves goes through miekg/dns and parse, which decide every
	// unusual case (errors included), so both paths agree.
	fast(raw []byte) (handled bool)
	parse(*dns.Msg) error
	// done is called once with what ask returns.
	done(netip.AddrPort, error)
}

// askFuncs is an askHandler made of functions (fast may be nil).
type askFuncs struct {
	fastFn  func(raw []byte) bool
	parseFn func(*dns.Msg) error
	doneFn  func(netip.AddrPort, error)
}

func (f *askFuncs) fast(raw []byte) bool {
	return f.fastFn != nil && f.fastFn(raw)
}
func (f *askFuncs) parse(m *dns.Msg) error             { return f.parseFn(m) }
func (f *askFuncs) done(srv netip.AddrPort, err error) { f.doneFn(srv, err) }

// askAsync is ask without waiting: h.done is called once with what ask
// returns, from the client's goroutines (or before askAsync returns).
// h's methods run on those goroutines and must not block (nor ask and
// wait: the goroutine they would wait for is theirs).
func (a *asker) askAsync(ctx context.Context, servers []netip.AddrPort, name string, qtype uint16, dnssec bool, h askHandler) {
	if len(servers) == 0 {
		h.done(netip.AddrPort{}, qerr(errNoAddress, "no server to ask for %s", name))
		return
	}
	op := &askOp{a: a, ctx: ctx, servers: servers, name: name, qtype: qtype, dnssec: dnssec, h: h,
		pause: a.backoff, attempts: 1 + a.retries}
	if len(servers) > 1 {
		op.first = rand.IntN(len(servers))
	}
	if op.attempts < len(servers) {
		op.attempts = len(servers) // every server gets one chance
	}
	op.try()
}

// try asks the next server: after the rate limit's pause, if any, and
// when its window has a slot.
func (op *askOp) try() {
	op.srv = op.servers[(op.first+op.i)%len(op.servers)]
	if err := op.ctx.Err(); err != nil {
		op.h.done(op.srv, err)
		return
	}
	if d := op.a.lim.reserve(op.srv); d > 0 {
		op.a.c.after(d, op.acquire)
		return
	}
	op.acquire()
}

func (op *askOp) acquire() {
	if w := op.a.win.tryAcquire(op.srv, op.launch); w != nil {
		op.launch(w)
	}
}

func (op *askOp) launch(w *window) {
	op.w = w
	if err := op.ctx.Err(); err != nil {
		op.a.win.release(w, false)
		op.h.done(op.srv, err)
		return
	}
	// The first attempt's packet is built in the op's buffer; a retry's
	// gets its own (the last one's may still wait to be written).
	b := op.buf[:0]
	if op.i > 0 {
		b = make([]byte, 0, 64)
	}
	wire, ok := appendQuery(b, op.name, op.qtype, op.dnssec)
	if !ok {
		m := op.query()
		var err error
		if wire, err = m.Pack(); err != nil {
			op.answered(nil, nil, qerr(errMalformed, "cannot pack the query: %v", err))
			return
		}
	}
	op.a.c.start(op.ctx, op.srv, wire, op)
}

func (op *askOp) query() *dns.Msg { return newQuery(op.name, op.qtype, op.dnssec) }

// answered reads an answer (or the query's failure) and decides: done,
// or the next attempt.
func (op *askOp) answered(raw []byte, m *dns.Msg, err error) {
	op.a.win.release(op.w, classOf(err) == errTimeout)
	op.w = nil
	if err == nil && raw != nil {
		if op.h.fast(raw) {
			op.h.done(op.srv, nil)
			return
		}
		m, err = unpackAnswer(op.srv, raw)
	}
	if err == nil {
		if err = op.h.parse(m); err == nil {
			op.h.done(op.srv, nil)
			return
		}
	}
	if cerr := op.ctx.Err(); cerr != nil {
		op.h.done(op.srv, cerr)
		return
	}
	// The error reported is the last one, but a timeout does not hide
	// what a server did answer (a malformed packet, a refusal): a
	// timeout is reported when every attempt timed out.
	if op.last == nil || classOf(err) != errTimeout || classOf(op.last) == errTimeout {
		op.last = err
	}
	if !retryable(classOf(err)) {
		op.h.done(op.srv, err)
		return
	}
	op.i++
	if op.i >= op.attempts {
		op.h.done(netip.AddrPort{}, op.last)
		return
	}
	if op.i >= len(op.servers) {
		// Every server had its chance: wait before going round again.
		d := op.pause + time.Duration(rand.Int64N(int64(op.pause)/2+1))
		op.pause *= 2
		op.a.c.after(d, op.try)
		return
	}
	op.try()
}
