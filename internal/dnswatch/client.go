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

// client is a pipelined DNS client: a few unconnected UDP sockets, each
// with up to 65536 queries in flight (one per message ID) to any number of
// servers, and one reader goroutine per socket that hands each answer to
// the goroutine that asked. Packets move in batches, one system call for
// many (recvmmsg and sendmmsg through x/net's ReadBatch and WriteBatch):
// at a registrar's millions of queries a sweep, one system call per
// packet was a third of the CPU time. An answer is accepted only from the server
// the query went to, with the query's ID and the query's question; any
// other packet is counted and dropped, and the query keeps waiting for
// its real answer. Truncated answers are asked again over TCP.
type client struct {
	socks   []*udpSock
	next    atomic.Uint32
	timeout time.Duration
	stats   *clientStats
	wg      sync.WaitGroup
	tcp     *dns.Client
	rtt     *rttTable

	closed    chan struct{}
	closeOnce sync.Once
	brk       *breaker // a reader's or sender's panic; shared with the Monitor

	addrMu sync.RWMutex
	addrs  map[netip.AddrPort]*net.UDPAddr // the servers' addresses as sendmmsg takes them, built once
}

// clientStats are the client's counters; the watch turns them into
// metrics.
type clientStats struct {
	sent, received, unexpected, tcpRetries atomic.Int64
	// sendCalls and recvCalls count the system calls that moved the
	// packets: sent/sendCalls is the batching achieved.
	sendCalls, recvCalls atomic.Int64
}

type udpSock struct {
	c       *net.UDPConn
	pc      *ipv6.PacketConn // c, for batches (a dual-stack socket: IPv4 too)
	mu      sync.Mutex
	pending map[uint16]*call
	out     sendQueue
}

type call struct {
	server   netip.AddrPort
	question []byte // the question section, to compare with the answer's
	done     chan []byte
	sendErr  error // set before done gets nil: the packet could not be sent
}

// batchSize is how many packets one recvmmsg or sendmmsg moves at most.
const batchSize = 64

// sendQueue batches the packets of the goroutines that send at about
// the same time: they queue them, and the socket's sender goroutine
// writes what has queued up, in one sendmmsg a batch. Before writing it
// yields once, so that the queries woken by the last batch of answers
// join the queue: writing at once sent 1.2 packets a system call.
type sendQueue struct {
	mu    sync.Mutex
	queue []outPacket
	spare []outPacket
	wake  chan struct{} // one token: the queue went from empty to not empty
	msgs  []ipv6.Message
	bufs  [][]byte
}

type outPacket struct {
	cl   *call
	wire []byte
	to   *net.UDPAddr
}

// minRTO is the shortest wait before a query is asked again: long enough
// that a busy machine's scheduling delays are not taken for losses.
const minRTO = 250 * time.Millisecond

// newClient opens n sockets. Close stops their readers.
func newClient(n int, timeout time.Duration, stats *clientStats) (*client, error) {
	if n < 1 {
		n = 1
	}
	c := &client{timeout: timeout, stats: stats, rtt: newRTTTable(minRTO, timeout),
		tcp: &dns.Client{Net: "tcp", Timeout: timeout, UDPSize: dns.MaxMsgSize}, addrs: map[netip.AddrPort]*net.UDPAddr{},
		closed: make(chan struct{}), brk: newBreaker()}
	for i := 0; i < n; i++ {
		// Dual stack: one socket reaches IPv4 and IPv6 servers.
		uc, err := net.ListenUDP("udp", nil)
		if err != nil {
			c.Close()
			return nil, err
		}
		uc.SetReadBuffer(4 << 20)
		uc.SetWriteBuffer(4 << 20)
		s := &udpSock{c: uc, pc: ipv6.NewPacketConn(uc), pending: make(map[uint16]*call, 1024)}
		s.out.wake = make(chan struct{}, 1)
		c.socks = append(c.socks, s)
		c.wg.Add(2)
		go func() { defer c.wg.Done(); c.brk.safe("dns socket reader", func() { c.read(s) }) }()
		go func() { defer c.wg.Done(); c.brk.safe("dns socket sender", func() { c.sender(s) }) }()
	}
	return c, nil
}

// Close closes the sockets and waits for their readers and senders.
func (c *client) Close() {
	c.closeOnce.Do(func() { close(c.closed) })
	for _, s := range c.socks {
		s.c.Close()
	}
	c.wg.Wait()
}

// read receives answers a batch at a time (recvmmsg) and delivers them.
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

// send queues a packet for the socket's sender. A packet that cannot
// be sent ends its call with sendErr.
func (c *client) send(s *udpSock, cl *call, wire []byte, to netip.AddrPort) {
	q := &s.out
	p := outPacket{cl: cl, wire: wire, to: c.udpAddr(to)}
	q.mu.Lock()
	q.queue = append(q.queue, p)
	first := len(q.queue) == 1
	q.mu.Unlock()
	if first {
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
		q.mu.Lock()
		batch := q.queue
		q.queue = q.spare[:0]
		q.mu.Unlock()
		c.writeBatch(s, batch)
		clear(batch)
		q.mu.Lock()
		q.spare = batch[:0]
		q.mu.Unlock()
	}
}

// writeBatch writes packets with as few sendmmsg calls as it can. Only
// the socket's sender calls it, so the message slices are its own.
func (c *client) writeBatch(s *udpSock, batch []outPacket) {
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
			ms[i] = ipv6.Message{Buffers: q.bufs[i : i+1 : i+1], Addr: batch[i].to}
		}
		sent, err := s.pc.WriteBatch(ms, 0)
		c.stats.sendCalls.Add(1)
		if sent < 0 {
			sent = 0
		}
		if err != nil && sent < n {
			// The packet at sent failed: end its call, go on with the rest.
			cl := batch[sent].cl
			cl.sendErr = err
			select {
			case cl.done <- nil:
			default:
			}
			sent++
		}
		batch = batch[sent:]
	}
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
	cl := s.pending[id]
	if cl == nil || cl.server != from || !sameQuestion(pkt[12:], cl.question) {
		s.mu.Unlock()
		c.stats.unexpected.Add(1)
		return false
	}
	delete(s.pending, id)
	s.mu.Unlock()
	c.stats.received.Add(1)
	select {
	case cl.done <- append([]byte(nil), pkt...):
	default: // the send had failed: the call is over
	}
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

// exchange sends m to server and returns the parsed answer. The ID of m
// is chosen here. A truncated answer is asked again over TCP.
func (c *client) exchange(ctx context.Context, server netip.AddrPort, m *dns.Msg) (*dns.Msg, error) {
	m.Id = 0
	wire, err := m.Pack()
	if err != nil {
		return nil, qerr(errMalformed, "cannot pack the query: %v", err)
	}
	raw, out, err := c.exchangeWire(ctx, server, wire, func() *dns.Msg { return m })
	if err != nil || out != nil {
		return out, err
	}
	return unpackAnswer(server, raw)
}

// unpackAnswer parses an answer that came over UDP.
func unpackAnswer(server netip.AddrPort, raw []byte) (*dns.Msg, error) {
	out := new(dns.Msg)
	if err := out.Unpack(raw); err != nil {
		return nil, qerr(errMalformed, "answer from %s does not parse: %v", server, err)
	}
	return out, nil
}

// exchangeWire sends a packed query (ID 0; set here); query rebuilds it
// as a message for TCP when the answer is truncated. The answer is raw,
// as it came over UDP, or parsed when it came over TCP; the caller
// parses a raw one (the sweep reads the common answers without building
// a dns.Msg).
func (c *client) exchangeWire(ctx context.Context, server netip.AddrPort, wire []byte, query func() *dns.Msg) ([]byte, *dns.Msg, error) {
	qend := questionEnd(wire)
	if qend < 0 {
		return nil, nil, qerr(errMalformed, "cannot pack the query")
	}
	cl := &call{server: server, question: wire[12:qend], done: make(chan []byte, 1)}
	s := c.socks[int(c.next.Add(1))%len(c.socks)]
	var id uint16
	s.mu.Lock()
	if len(s.pending) >= 60000 {
		s.mu.Unlock()
		return nil, nil, qerr(errNetwork, "too many queries in flight on one socket")
	}
	for {
		id = uint16(rand.Uint32())
		if _, busy := s.pending[id]; !busy {
			break
		}
	}
	s.pending[id] = cl
	s.mu.Unlock()
	wire[0], wire[1] = byte(id>>8), byte(id)
	forget := func() {
		s.mu.Lock()
		if s.pending[id] == cl {
			delete(s.pending, id)
		}
		s.mu.Unlock()
	}
	c.stats.sent.Add(1)
	rto := c.rtt.rto(server)
	sent := time.Now()
	c.send(s, cl, wire, server)
	t := time.NewTimer(rto)
	defer t.Stop()
	var raw []byte
	select {
	case raw = <-cl.done:
		if raw == nil {
			forget()
			return nil, nil, qerr(errNetwork, "send to %s: %v", server, cl.sendErr)
		}
		c.rtt.observe(server, time.Since(sent))
	case <-t.C:
		forget()
		c.rtt.timedOut(server)
		return nil, nil, qerr(errTimeout, "no answer from %s in %v", server, rto.Round(time.Millisecond))
	case <-ctx.Done():
		forget()
		return nil, nil, ctx.Err()
	case <-c.brk.done():
		forget()
		return nil, nil, c.brk.error()
	}
	if len(raw) >= 3 && raw[2]&0x02 != 0 { // TC: the answer did not fit
		c.stats.tcpRetries.Add(1)
		out, err := c.exchangeTCP(ctx, server, query())
		return nil, out, err
	}
	return raw, nil, nil
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
