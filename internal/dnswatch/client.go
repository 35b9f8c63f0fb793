package dnswatch

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/net/ipv6"
)

// client is an event-driven DNS client: a few unconnected UDP sockets,
// each with up to 60000 queries in flight (one per message ID) to any
// number of servers. Nothing waits per query: a query is a row in its
// socket's table (keyed by message ID) with a callback, one reader
// goroutine per socket receives answers in batches (recvmmsg) and calls
// the callbacks, one sender per socket writes queued packets in batches
// (sendmmsg), and one clock goroutine for the whole client ends the
// queries whose deadline passed, from a timer wheel, instead of a timer
// and a channel per query. At a registrar's millions of queries a sweep,
// a goroutine, a timer and a channel per query cost more than the
// packets. An answer is accepted only from the server the query went
// to, with the query's ID and the query's question; any other packet is
// counted and dropped, and the query keeps waiting for its real answer.
// Truncated answers are asked again over TCP (a goroutine then: rare).
type client struct {
	socks   []*udpSock
	next    atomic.Uint32
	timeout time.Duration
	stats   *clientStats
	wg      sync.WaitGroup
	tcp     *dns.Client
	rtt     *rttTable
	epoch   time.Time // clock origin: deadlines are nanoseconds since it

	inflight atomic.Int64  // calls in the tables, all sockets, and functions waiting in later
	kick     chan struct{} // wakes the clock when the first call starts
	isClosed atomic.Bool
	isBroken atomic.Bool // the breaker tripped: no query starts

	// later holds the functions to run after a pause (rate limit,
	// backoff), on the same wheel as the deadlines.
	laterMu   sync.Mutex
	later     [wheelSlots][]laterEntry
	laterLast int64 // the last tick processed
	// batching counts the readers delivering a batch: packets queued by
	// their callbacks are written when the batch ends, together.
	batching atomic.Int32

	closed    chan struct{}
	closeOnce sync.Once
	brk       *breaker // a reader's or sender's panic; shared with the Monitor

	addrMu sync.RWMutex
	addrs  map[netip.AddrPort]*net.UDPAddr // the servers' addresses as sendmmsg takes them, built once
}

// clientStats are the client's counters; the watch turns them into
// metrics.
type clientStats struct {
	sent, received, unexpected, tcpRetries, timeouts atomic.Int64
	// sendCalls and recvCalls count the system calls that moved the
	// packets: sent/sendCalls is the batching achieved.
	sendCalls, recvCalls atomic.Int64
}

// Timer wheel: deadlines are checked every wheelTick; a query waits at
// most one tick longer than its RTO.
const (
	wheelTick  = 10 * time.Millisecond
	wheelSlots = 512 // 5.12 s a turn; a longer deadline waits another turn
	maxPending = 60000
)

type udpSock struct {
	c  *net.UDPConn
	pc *ipv6.PacketConn // c, for batches (a dual-stack socket: IPv4 too)

	mu      sync.Mutex
	slots   []*call // by message ID
	n       int     // calls in slots
	wheel   [wheelSlots][]wheelEntry
	lastRun int64 // the last wheel tick processed
	seq     uint32

	out sendQueue
}

type laterEntry struct {
	due int64
	fn  func()
}

// wheelEntry points at a call by ID; seq tells whether the ID still
// holds that call (it may have been answered and the ID reused).
type wheelEntry struct {
	id  uint16
	seq uint32
}

// call is one query in flight.
type call struct {
	ctx      context.Context
	server   netip.AddrPort
	wire     []byte
	question []byte // the question section (in wire), to compare with the answer's
	id       uint16
	seq      uint32
	sent     int64 // since epoch
	deadline int64
	rto      time.Duration
	h        answerHandler
}

// answerHandler is what a query's answer goes to.
type answerHandler interface {
	// answered is called once: with the raw answer (valid only during
	// the call: keep a copy), or the answer parsed after a TCP retry, or
	// an error. It runs on the client's goroutines and must not block.
	answered(raw []byte, m *dns.Msg, err error)
	// query is the query as a message, for TCP.
	query() *dns.Msg
}

// batchSize is how many packets one recvmmsg or sendmmsg moves at most.
const batchSize = 64

// sendQueue batches the packets queued at about the same time. Packets
// queued by the callbacks of a batch of answers are written when the
// reader has delivered the batch; others wake the socket's sender,
// which yields once (so that the goroutines woken with it queue theirs)
// and writes what has queued up.
type sendQueue struct {
	mu    sync.Mutex
	queue []*call
	spare []*call
	wake  chan struct{} // one token: the queue went from empty to not empty

	wmu  sync.Mutex // one writer at a time: the scratch below is its
	msgs []ipv6.Message
	bufs [][]byte
}

// minRTO is the shortest wait before a query is asked again: long enough
// that a busy machine's scheduling delays are not taken for losses.
const minRTO = 250 * time.Millisecond

// newClient opens n sockets. Close stops their goroutines.
func newClient(n int, timeout time.Duration, stats *clientStats) (*client, error) {
	if n < 1 {
		n = 1
	}
	c := &client{timeout: timeout, stats: stats, rtt: newRTTTable(minRTO, timeout),
		tcp: &dns.Client{Net: "tcp", Timeout: timeout, UDPSize: dns.MaxMsgSize}, addrs: map[netip.AddrPort]*net.UDPAddr{},
		closed: make(chan struct{}), kick: make(chan struct{}, 1), epoch: time.Now(), brk: newBreaker()}
	for i := 0; i < n; i++ {
		// Dual stack: one socket reaches IPv4 and IPv6 servers.
		uc, err := net.ListenUDP("udp", nil)
		if err != nil {
			c.Close()
			return nil, err
		}
		uc.SetReadBuffer(4 << 20)
		uc.SetWriteBuffer(4 << 20)
		c.socks = append(c.socks, newSock(uc))
	}
	c.brk.onTrip = c.broke
	for _, s := range c.socks {
		c.wg.Add(2)
		// The reader also runs the callbacks of the answers it reads:
		// a panic while reading one is the reader's.
		go func() { defer c.wg.Done(); c.brk.safe("dns socket reader", func() { c.read(s) }) }()
		go func() { defer c.wg.Done(); c.brk.safe("dns socket sender", func() { c.sender(s) }) }()
	}
	c.wg.Add(1)
	go func() { defer c.wg.Done(); c.brk.safe("dns query clock", c.clock) }()
	return c, nil
}

func newSock(uc *net.UDPConn) *udpSock {
	s := &udpSock{c: uc, slots: make([]*call, 1<<16)}
	if uc != nil {
		s.pc = ipv6.NewPacketConn(uc)
	}
	s.out.wake = make(chan struct{}, 1)
	return s
}

// Close closes the sockets and waits for the client's goroutines. Calls
// still in flight end with a network error.
func (c *client) Close() {
	c.closeOnce.Do(func() { c.isClosed.Store(true); close(c.closed) })
	for _, s := range c.socks {
		s.c.Close()
	}
	c.wg.Wait()
	c.abort(func(*call) bool { return true }, qerr(errNetwork, "client closed"))
	c.runLater(1<<62, nil) // what waited for a pause: it finds the client closed
}

func (c *client) now() int64 { return int64(time.Since(c.epoch)) }

// read receives answers a batch at a time (recvmmsg) and delivers them;
// what their callbacks queued is written at the end of the batch.
func (c *client) read(s *udpSock) {
	ms := make([]ipv6.Message, batchSize)
	for i := range ms {
		ms[i].Buffers = [][]byte{make([]byte, 65535)}
	}
	for {
		n, err := s.pc.ReadBatch(ms, 0)
		c.stats.recvCalls.Add(1)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // ICMP errors and the like: the query times out
		}
		c.batching.Add(1)
		for i := 0; i < n; i++ {
			ua, ok := ms[i].Addr.(*net.UDPAddr)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(ua.IP)
			if !ok {
				continue
			}
			c.deliver(s, ms[i].Buffers[0][:ms[i].N], netip.AddrPortFrom(ip.Unmap(), uint16(ua.Port)))
		}
		c.batching.Add(-1)
		for _, o := range c.socks {
			c.flush(o)
		}
	}
}

// udpAddr is server as sendmmsg takes it; a sweep asks a few servers
// millions of times, so each is built once.
func (c *client) udpAddr(server netip.AddrPort) *net.UDPAddr {
	c.addrMu.RLock()
	a := c.addrs[server]
	c.addrMu.RUnlock()
	if a != nil {
		return a
	}
	a = net.UDPAddrFromAddrPort(server)
	c.addrMu.Lock()
	if len(c.addrs) > 100000 { // child servers of millions of domains: keep it bounded
		clear(c.addrs)
	}
	c.addrs[server] = a
	c.addrMu.Unlock()
	return a
}

// start sends wire, a packed query (its ID is chosen here), to server;
// h.answered is called once with the answer or an error, from another
// goroutine or, when the query cannot even be queued, before start
// returns.
func (c *client) start(ctx context.Context, server netip.AddrPort, wire []byte, h answerHandler) {
	qend := questionEnd(wire)
	if qend < 0 {
		h.answered(nil, nil, qerr(errMalformed, "cannot pack the query"))
		return
	}
	if c.isClosed.Load() {
		h.answered(nil, nil, qerr(errNetwork, "client closed"))
		return
	}
	if c.isBroken.Load() {
		h.answered(nil, nil, c.brk.error())
		return
	}
	rto := c.rtt.rto(server)
	cl := &call{ctx: ctx, server: server, wire: wire, question: wire[12:qend], h: h, rto: rto}
	s := c.socks[int(c.next.Add(1))%len(c.socks)]
	now := c.now()
	cl.sent, cl.deadline = now, now+int64(rto)
	s.mu.Lock()
	if s.n >= maxPending {
		s.mu.Unlock()
		h.answered(nil, nil, qerr(errNetwork, "too many queries in flight on one socket"))
		return
	}
	for {
		cl.id = uint16(rand.Uint32())
		if s.slots[cl.id] == nil {
			break
		}
	}
	s.seq++
	cl.seq = s.seq
	s.slots[cl.id] = cl
	s.n++
	tick := (cl.deadline + int64(wheelTick) - 1) / int64(wheelTick)
	if tick <= s.lastRun {
		tick = s.lastRun + 1
	}
	b := &s.wheel[tick%wheelSlots]
	*b = append(*b, wheelEntry{id: cl.id, seq: cl.seq})
	s.mu.Unlock()
	wire[0], wire[1] = byte(cl.id>>8), byte(cl.id)
	if c.inflight.Add(1) == 1 {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
	c.stats.sent.Add(1)
	c.send(s, cl)
}

// take removes cl from its socket's table if it is still there: whoever
// takes a call ends it, exactly once.
func (c *client) take(s *udpSock, cl *call) bool {
	s.mu.Lock()
	ok := s.slots[cl.id] == cl
	if ok {
		s.slots[cl.id] = nil
		s.n--
	}
	s.mu.Unlock()
	return ok
}

// end calls the callback of a call taken from its table.
func (c *client) end(cl *call, raw []byte, m *dns.Msg, err error) {
	c.inflight.Add(-1)
	cl.h.answered(raw, m, err)
}

// after runs fn once d has passed (to a wheel tick), on the clock's
// goroutine: a rate limit's or a backoff's pause without a timer each.
// After Close, fn runs at once.
func (c *client) after(d time.Duration, fn func()) {
	if c.isClosed.Load() || c.isBroken.Load() {
		fn()
		return
	}
	due := c.now() + int64(d)
	tick := (due + int64(wheelTick) - 1) / int64(wheelTick)
	c.laterMu.Lock()
	if tick <= c.laterLast {
		tick = c.laterLast + 1
	}
	c.later[tick%wheelSlots] = append(c.later[tick%wheelSlots], laterEntry{due: due, fn: fn})
	c.laterMu.Unlock()
	if c.inflight.Add(1) == 1 {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
}

// runLater runs the functions due by now.
func (c *client) runLater(now int64, out []func()) []func() {
	cur := now / int64(wheelTick)
	c.laterMu.Lock()
	from := c.laterLast + 1
	if cur-from >= wheelSlots {
		from = cur - wheelSlots + 1
	}
	for tick := from; tick <= cur; tick++ {
		b := &c.later[tick%wheelSlots]
		keep := (*b)[:0]
		for _, e := range *b {
			if e.due <= now {
				out = append(out, e.fn)
			} else {
				keep = append(keep, e)
			}
		}
		clear((*b)[len(keep):])
		*b = keep
	}
	if cur > c.laterLast {
		c.laterLast = cur
	}
	c.laterMu.Unlock()
	for _, fn := range out {
		c.inflight.Add(-1)
		fn()
	}
	clear(out)
	return out[:0]
}

// clock ends the calls whose deadline passed, one wheel tick at a time,
// while calls are in flight; it sleeps when none is.
func (c *client) clock() {
	t := time.NewTimer(wheelTick)
	defer t.Stop()
	var expired []*call
	var due []func()
	for {
		if c.inflight.Load() <= 0 {
			select {
			case <-c.kick:
			case <-c.closed:
				return
			}
		}
		t.Reset(wheelTick)
		select {
		case <-t.C:
		case <-c.closed:
			return
		}
		now := c.now()
		for _, s := range c.socks {
			expired = s.expire(now, expired[:0])
			for _, cl := range expired {
				c.rtt.timedOut(cl.server)
				c.stats.timeouts.Add(1)
				c.end(cl, nil, nil, qerr(errTimeout, "no answer from %s in %v", cl.server, cl.rto.Round(time.Millisecond)))
			}
		}
		clear(expired)
		due = c.runLater(now, due)
	}
}

// expire takes from the table the calls whose deadline is before now.
func (s *udpSock) expire(now int64, out []*call) []*call {
	cur := now / int64(wheelTick)
	s.mu.Lock()
	defer s.mu.Unlock()
	from := s.lastRun + 1
	if cur-from >= wheelSlots {
		from = cur - wheelSlots + 1
	}
	for tick := from; tick <= cur; tick++ {
		b := &s.wheel[tick%wheelSlots]
		keep := (*b)[:0]
		for _, e := range *b {
			cl := s.slots[e.id]
			if cl == nil || cl.seq != e.seq {
				continue // answered
			}
			if cl.deadline <= now {
				s.slots[e.id] = nil
				s.n--
				out = append(out, cl)
				continue
			}
			keep = append(keep, e) // due in a later turn of the wheel
		}
		clear((*b)[len(keep):])
		*b = keep
	}
	if cur > s.lastRun {
		s.lastRun = cur
	}
	return out
}

// broke ends the queries in flight when the breaker trips: a reader,
// sender or the clock may be gone, and the sweep stops.
func (c *client) broke() {
	c.isBroken.Store(true)
	err := c.brk.error()
	c.abort(func(*call) bool { return true }, err)
	c.runLater(1<<62, nil)
}

// abort ends with err the calls in flight that match.
func (c *client) abort(match func(*call) bool, err error) {
	var out []*call
	for _, s := range c.socks {
		s.mu.Lock()
		for id, cl := range s.slots {
			if cl != nil && match(cl) {
				s.slots[id] = nil
				s.n--
				out = append(out, cl)
			}
		}
		s.mu.Unlock()
	}
	for _, cl := range out {
		c.end(cl, nil, nil, err)
	}
}

// abortCtx ends the calls started with ctx, which ended: nothing waits
// for their answers any more.
func (c *client) abortCtx(ctx context.Context) {
	err := ctx.Err()
	if err == nil {
		return
	}
	c.abort(func(cl *call) bool { return cl.ctx == ctx }, err)
}

// send queues a call's packet for its socket. Queued from a reader's
// callbacks, it goes with the batch's; otherwise the sender is woken.
func (c *client) send(s *udpSock, cl *call) {
	q := &s.out
	q.mu.Lock()
	q.queue = append(q.queue, cl)
	first := len(q.queue) == 1
	q.mu.Unlock()
	if first && c.batching.Load() == 0 {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

// sender writes the socket's queued packets until the client closes.
func (c *client) sender(s *udpSock) {
	q := &s.out
	for {
		select {
		case <-q.wake:
		case <-c.closed:
			return
		}
		runtime.Gosched() // let the goroutines woken with this one queue theirs
		c.flush(s)
	}
}

// flush writes what is queued on s.
func (c *client) flush(s *udpSock) {
	q := &s.out
	q.mu.Lock()
	if len(q.queue) == 0 {
		q.mu.Unlock()
		return
	}
	batch := q.queue
	q.queue = q.spare[:0]
	q.spare = nil
	q.mu.Unlock()
	q.wmu.Lock()
	failed := c.writeBatch(s, batch)
	q.wmu.Unlock()
	clear(batch)
	q.mu.Lock()
	if q.spare == nil {
		q.spare = batch[:0]
	}
	q.mu.Unlock()
	for _, f := range failed {
		if c.take(s, f.cl) {
			c.end(f.cl, nil, nil, qerr(errNetwork, "send to %s: %v", f.cl.server, f.err))
		}
	}
}

type sendFailure struct {
	cl  *call
	err error
}

// writeBatch writes packets with as few sendmmsg calls as it can (q.wmu
// held) and returns those that could not be sent.
func (c *client) writeBatch(s *udpSock, batch []*call) (failed []sendFailure) {
	q := &s.out
	for len(batch) > 0 {
		n := min(len(batch), batchSize)
		if cap(q.msgs) < n {
			q.msgs = make([]ipv6.Message, batchSize)
			q.bufs = make([][]byte, batchSize)
		}
		ms := q.msgs[:n]
		for i := range ms {
			q.bufs[i] = batch[i].wire
			ms[i] = ipv6.Message{Buffers: q.bufs[i : i+1 : i+1], Addr: c.udpAddr(batch[i].server)}
		}
		sent, err := s.pc.WriteBatch(ms, 0)
		c.stats.sendCalls.Add(1)
		if sent < 0 {
			sent = 0
		}
		if err != nil && sent < n {
			// The packet at sent failed: end its call, go on with the rest.
			failed = append(failed, sendFailure{batch[sent], err})
			sent++
		}
		batch = batch[sent:]
	}
	clear(q.bufs)
	clear(q.msgs)
	return failed
}

// deliver hands a packet to the query waiting for it: same ID, same
// server, same question. Anything else is counted and dropped, and the
// query keeps waiting for its own answer.
func (c *client) deliver(s *udpSock, pkt []byte, from netip.AddrPort) bool {
	if len(pkt) < 12 {
		c.stats.unexpected.Add(1)
		return false
	}
	id := uint16(pkt[0])<<8 | uint16(pkt[1])
	s.mu.Lock()
	cl := s.slots[id]
	if cl == nil || cl.server != from || !sameQuestion(pkt[12:], cl.question) {
		s.mu.Unlock()
		c.stats.unexpected.Add(1)
		return false
	}
	s.slots[id] = nil
	s.n--
	s.mu.Unlock()
	c.stats.received.Add(1)
	c.rtt.observe(cl.server, time.Duration(c.now()-cl.sent))
	if len(pkt) >= 3 && pkt[2]&0x02 != 0 { // TC: the answer did not fit
		c.stats.tcpRetries.Add(1)
		go c.brk.safe("dns tcp retry", func() {
			out, err := c.exchangeTCP(cl.ctx, cl.server, cl.h.query())
			c.end(cl, nil, out, err)
		})
		return true
	}
	c.end(cl, pkt, nil, nil)
	return true
}

// sameQuestion compares the answer's question section with the query's,
// ignoring the case of the name (servers may echo it differently).
func sameQuestion(answer, q []byte) bool {
	if len(answer) < len(q) {
		return false
	}
	for i, b := range q {
		a := answer[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

// exchange sends m to server and returns the parsed answer: one
// attempt, waiting. The ID of m is chosen here. A truncated answer is
// asked again over TCP.
func (c *client) exchange(ctx context.Context, server netip.AddrPort, m *dns.Msg) (*dns.Msg, error) {
	m.Id = 0
	wire, err := m.Pack()
	if err != nil {
		return nil, qerr(errMalformed, "cannot pack the query: %v", err)
	}
	x := &exchangeWait{server: server, m: m, ch: make(chan exchangeResult, 1)}
	c.start(ctx, server, wire, x)
	select {
	case r := <-x.ch:
		return r.m, r.err
	case <-ctx.Done():
		c.abortCtx(ctx)
	case <-c.brk.done():
		// broke ends the call
	}
	r := <-x.ch
	return r.m, r.err
}

// exchangeWait is the answer handler of exchange.
type exchangeWait struct {
	server netip.AddrPort
	m      *dns.Msg
	ch     chan exchangeResult
}

type exchangeResult struct {
	m   *dns.Msg
	err error
}

func (x *exchangeWait) query() *dns.Msg { return x.m }

func (x *exchangeWait) answered(raw []byte, out *dns.Msg, err error) {
	if err == nil && raw != nil {
		out, err = unpackAnswer(x.server, raw)
	}
	x.ch <- exchangeResult{out, err}
}

// unpackAnswer parses an answer that came over UDP.
func unpackAnswer(server netip.AddrPort, raw []byte) (*dns.Msg, error) {
	out := new(dns.Msg)
	if err := out.Unpack(raw); err != nil {
		return nil, qerr(errMalformed, "answer from %s does not parse: %v", server, err)
	}
	return out, nil
}

// appendQuery packs a non-recursive query for name (a host name in
// canonical form) with EDNS0 (1232 bytes, DO when dnssec) without going
// through dns.Msg: it is the one message sent millions of times a sweep.
// ok is false for a name it does not handle (escapes, odd characters);
// the caller then packs with miekg/dns.
func appendQuery(b []byte, name string, qtype uint16, dnssec bool) ([]byte, bool) {
	if len(name) == 0 || len(name) > 254 || name[len(name)-1] != '.' {
		return b, false
	}
	b = append(b, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1) // ID 0, no flags, 1 question, 1 additional (OPT)
	start := 0
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '.' {
			l := i - start
			if l == 0 || l > 63 {
				return b, false
			}
			b = append(b, byte(l))
			b = append(b, name[start:i]...)
			start = i + 1
			continue
		}
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return b, false
		}
	}
	b = append(b, 0, byte(qtype>>8), byte(qtype), 0, 1)
	do := byte(0)
	if dnssec {
		do = 0x80
	}
	// OPT: root owner, type 41, class = UDP size 1232, TTL = rcode 0,
	// version 0, flags (DO), no options.
	return append(b, 0, 0, 41, 1232>>8, 1232&0xff, 0, 0, do, 0, 0, 0), true
}

func (c *client) exchangeTCP(ctx context.Context, server netip.AddrPort, m *dns.Msg) (*dns.Msg, error) {
	m.Id = dns.Id()
	out, _, err := c.tcp.ExchangeContext(ctx, m, server.String())
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, qerr(errTimeout, "no answer from %s over TCP in %v", server, c.timeout)
		}
		if errors.Is(err, dns.ErrId) {
			return nil, qerr(errMismatch, "answer from %s over TCP has another ID", server)
		}
		var oe *net.OpError
		if errors.As(err, &oe) {
			return nil, qerr(errNetwork, "TCP to %s: %v", server, err)
		}
		return nil, qerr(errMalformed, "answer from %s over TCP: %v", server, err)
	}
	return out, nil
}

// questionEnd returns the offset just past the question section of a
// packed query with one question, or -1.
func questionEnd(wire []byte) int {
	i := 12
	for i < len(wire) {
		l := int(wire[i])
		if l == 0 {
			i++
			if i+4 > len(wire) {
				return -1
			}
			return i + 4
		}
		if l&0xC0 != 0 {
			return -1 // a query's name is never compressed
		}
		i += 1 + l
	}
	return -1
}
