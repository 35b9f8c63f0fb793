package dnswatch

import (
	"net/netip"
	"sync"
)

// windows bounds the queries in flight to each server with TCP's
// congestion control (slow start, then additive increase and
// multiplicative decrease on loss): a server that drops queries because
// its socket overflows, or because it rate-limits, gets fewer at once,
// instead of a storm of retries. It is politeness as much as speed.
// Every lost query halves the window (TCP halves once per round trip of
// losses; measured on a loaded machine, that kept the window where the
// server drops whole bursts: more losses, slower sweeps).
type windows struct {
	mu  sync.Mutex
	m   map[netip.AddrPort]*window
	max float64
}

type window struct {
	mu       sync.Mutex
	limit    float64
	inflight int
	slowDone bool // a loss ended slow start
	// waiting are the queries waiting for a slot, first come first
	// served: release hands them the slots.
	waiting []func(*window)
}

const minWindow, startWindow = 4, 32

func newWindows(limit int) *windows {
	return &windows{m: map[netip.AddrPort]*window{}, max: float64(max(limit, minWindow))}
}

func (ws *windows) get(server netip.AddrPort) *window {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	w := ws.m[server]
	if w == nil {
		w = &window{limit: min(startWindow, ws.max)}
		ws.m[server] = w
	}
	return w
}

// tryAcquire takes a slot to server without waiting: it returns the
// window when there is one; otherwise it returns nil and calls ready,
// with the slot taken, when a release frees one (no goroutine waits).
func (ws *windows) tryAcquire(server netip.AddrPort, ready func(*window)) *window {
	w := ws.get(server)
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.waiting) == 0 && w.inflight < int(w.limit) {
		w.inflight++
		return w
	}
	w.waiting = append(w.waiting, ready)
	return nil
}

// release frees the slot; lost says the query got no answer in time. Waiting queries get the free slots in order; their
// ready runs here, after the lock is released.
func (ws *windows) release(w *window, lost bool) {
	w.mu.Lock()
	w.inflight--
	switch {
	case lost:
		w.limit = max(w.limit/2, minWindow)
		w.slowDone = true
	case !w.slowDone:
		w.limit = min(w.limit+1, ws.max) // doubles every round trip
	default:
		w.limit = min(w.limit+1/w.limit, ws.max) // one more every round trip
	}
	var ready []func(*window)
	for len(w.waiting) > 0 && w.inflight < int(w.limit) {
		ready = append(ready, w.waiting[0])
		w.waiting[0] = nil
		w.waiting = w.waiting[1:]
		w.inflight++
	}
	if len(w.waiting) == 0 {
		w.waiting = nil // let the backing array go
	}
	w.mu.Unlock()
	for _, r := range ready {
		r(w)
	}
}
