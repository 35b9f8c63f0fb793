package dnswatch

import (
	"net/netip"
	"sync"
	"time"
)

// rttTable keeps a smoothed round-trip time per server (RFC 6298, as TCP
// does), so that a lost packet is asked again after a few round trips
// instead of after the full timeout: on a sweep of millions of queries,
// a drop that costs 2 s stalls a worker for 2 s, one that costs 4 RTT
// does not. The timeout set in the options stays the ceiling.
type rttTable struct {
	mu    sync.Mutex
	m     map[netip.AddrPort]*rttStat
	floor time.Duration
	ceil  time.Duration
}

type rttStat struct {
	srtt, rttvar time.Duration
	backoff      int // doublings after timeouts, reset by an answer
}

func newRTTTable(floor, ceil time.Duration) *rttTable {
	if floor > ceil {
		floor = ceil
	}
	return &rttTable{m: map[netip.AddrPort]*rttStat{}, floor: floor, ceil: ceil}
}

// rto is how long to wait for an answer from server.
func (t *rttTable) rto(server netip.AddrPort) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.m[server]
	if s == nil || s.srtt == 0 {
		return t.ceil // no measure yet: the configured timeout
	}
	d := s.srtt + 4*s.rttvar
	for i := 0; i < s.backoff && d < t.ceil; i++ {
		d *= 2
	}
	return min(max(d, t.floor), t.ceil)
}

func (t *rttTable) observe(server netip.AddrPort, rtt time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.m[server]
	if s == nil {
		s = &rttStat{}
		t.m[server] = s
	}
	if s.srtt == 0 {
		s.srtt, s.rttvar = rtt, rtt/2
	} else {
		diff := s.srtt - rtt
		if diff < 0 {
			diff = -diff
		}
		s.rttvar = (3*s.rttvar + diff) / 4
		s.srtt = (7*s.srtt + rtt) / 8
	}
	s.backoff = 0
}

func (t *rttTable) timedOut(server netip.AddrPort) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.m[server]; s != nil && s.backoff < 8 {
		s.backoff++
	}
}
