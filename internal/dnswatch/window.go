package dnswatch

import (
	"net/netip"
	"sync"
)

// windows bounds the queries in flight to each server with TCP's
// congestion control (slow start, then additive increase and
// multiplicative decrease on loss): a server that drops queries because
// its socket overflows, or because it rate-limits, gets fewer at once,
// instead of a storm of retries. It is politeness as much as speed. As
// TCP does, the queries lost together are one loss: the window is halved
// once for the queries admitted before it was last cut, not once per
// query (a burst of a thousand losses would otherwise leave it at its
// floor for the rest of the sweep).
type windows struct {
	mu  sync.Mutex
	m   map[netip.AddrPort]*window
	max float64
}

type window struct {
	mu       sync.Mutex
	limit    float64
	inflight int
	slowDone bool   // a loss ended slow start
	cuts     uint64 // times the window was cut: the epoch of a query admitted now
	// waiting are the queries waiting for a slot, first come first
	// served: release hands them the slots.
	waiting []func(*window, uint64)
}

// A window starts at startWindow and doubles every round trip (slow
// start) up to slowStartEnd, then grows by one a round trip. A name
// server on a default Linux UDP receive buffer (212992 bytes) holds
// about 300 small queries waiting to be read: doubling past that on a
// fast link sends a burst the server drops nearly whole (measured on
// loopback: two thousand queries sent, seventeen hundred lost).
const minWindow, startWindow, slowStartEnd = 4, 32, 256

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
// window and the query's epoch (for release) when there is one;
// otherwise it returns nil and calls ready, with the slot taken, when a
// release frees one (no goroutine waits).
func (ws *windows) tryAcquire(server netip.AddrPort, ready func(*window, uint64)) (*window, uint64) {
	w := ws.get(server)
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.waiting) == 0 && w.inflight < int(w.limit) {
		w.inflight++
		return w, w.cuts
	}
	w.waiting = append(w.waiting, ready)
	return nil, 0
}

// release frees the slot of a query admitted in epoch; lost says it got
// no answer in time. Waiting queries get the free slots in order; their
// ready runs here, after the lock is released.
func (ws *windows) release(w *window, epoch uint64, lost bool) {
	w.mu.Lock()
	w.inflight--
	switch {
	case lost && epoch != w.cuts:
		// admitted before the last cut: that cut answered its loss
	case lost:
		w.limit = max(w.limit/2, minWindow)
		w.slowDone = true
		w.cuts++
	case !w.slowDone && w.limit < slowStartEnd:
		w.limit = min(w.limit+1, ws.max) // doubles every round trip
	default:
		w.limit = min(w.limit+1/w.limit, ws.max) // one more every round trip
	}
	var ready []func(*window, uint64)
	for len(w.waiting) > 0 && w.inflight < int(w.limit) {
		ready = append(ready, w.waiting[0])
		w.waiting[0] = nil
		w.waiting = w.waiting[1:]
		w.inflight++
	}
	if len(w.waiting) == 0 {
		w.waiting = nil // let the backing array go
	}
	now := w.cuts
	w.mu.Unlock()
	for _, r := range ready {
		r(w, now)
	}
}
