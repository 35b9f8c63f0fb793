package dnswatch

import (
	"net/netip"
	"sync"
	"time"
)

// limiter spaces the queries sent to each server: real TLD servers
// rate-limit (and some drop) clients that ask too fast. It is a virtual
// scheduling limiter (GCRA): each server has a theoretical arrival time
// that advances by 1/rate per query, with a burst of a tenth of a second.
type limiter struct {
	rate  float64 // queries per second per server; 0: unlimited
	now   func() time.Time
	mu    sync.Mutex
	tat   map[netip.AddrPort]time.Time
	burst time.Duration
}

func newLimiter(rate float64) *limiter {
	return &limiter{rate: rate, now: time.Now, tat: map[netip.AddrPort]time.Time{}, burst: 100 * time.Millisecond}
}

// reserve books the next slot to server and returns how long to wait for it.
func (l *limiter) reserve(server netip.AddrPort) time.Duration {
	if l.rate <= 0 {
		return 0
	}
	interval := time.Duration(float64(time.Second) / l.rate)
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	t := l.tat[server]
	if t.Before(now) {
		t = now
	}
	l.tat[server] = t.Add(interval)
	return t.Sub(now) - l.burst
}
