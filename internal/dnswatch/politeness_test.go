package dnswatch

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"
)

func TestLimiterSpacesQueriesPerServer(t *testing.T) {
	now := time.Unix(1000, 0)
	l := newLimiter(100) // 10 ms apart, 100 ms of burst
	l.now = func() time.Time { return now }
	a, b := netip.MustParseAddrPort("192.0.2.1:53"), netip.MustParseAddrPort("192.0.2.2:53")
	var waits []time.Duration
	for i := 0; i < 15; i++ {
		waits = append(waits, l.reserve(a))
	}
	for i, w := range waits {
		want := time.Duration(i)*10*time.Millisecond - 100*time.Millisecond
		if w != want {
			t.Errorf("query %d to a waits %v, want %v", i, w, want)
		}
	}
	if w := l.reserve(b); w > 0 {
		t.Errorf("another server waits %v", w)
	}
	now = now.Add(time.Second) // idle: the burst is available again
	if w := l.reserve(a); w > 0 {
		t.Errorf("after a pause: wait %v", w)
	}
	if newLimiter(0).reserve(a) != 0 {
		t.Error("rate 0 is unlimited")
	}
}

func TestRTOFollowsTheServer(t *testing.T) {
	tb := newRTTTable(50*time.Millisecond, 2*time.Second)
	s := netip.MustParseAddrPort("192.0.2.1:53")
	if got := tb.rto(s); got != 2*time.Second {
		t.Errorf("unknown server: %v, want the full timeout", got)
	}
	for i := 0; i < 20; i++ {
		tb.observe(s, 40*time.Millisecond)
	}
	if got := tb.rto(s); got < 40*time.Millisecond || got > 100*time.Millisecond {
		t.Errorf("steady 40 ms: rto %v", got)
	}
	before := tb.rto(s)
	tb.timedOut(s)
	tb.timedOut(s)
	if got := tb.rto(s); got < 3*before || got > 4*before {
		t.Errorf("after two timeouts: %v, want about 4 x %v", got, before)
	}
	tb.observe(s, 40*time.Millisecond)
	if got := tb.rto(s); got > 100*time.Millisecond {
		t.Errorf("an answer ends the backoff: %v", got)
	}
	tb.observe(netip.MustParseAddrPort("192.0.2.9:53"), time.Microsecond)
	if got := tb.rto(netip.MustParseAddrPort("192.0.2.9:53")); got != 50*time.Millisecond {
		t.Errorf("floor: %v", got)
	}
}

func TestWindowShrinksOnLossAndGrows(t *testing.T) {
	ws := newWindows(1000)
	s := netip.MustParseAddrPort("192.0.2.1:53")
	ctx := context.Background()
	w, _ := ws.acquire(ctx, s)
	ws.release(w, false)
	if w.limit != startWindow+1 {
		t.Errorf("slow start: %v", w.limit)
	}
	w, _ = ws.acquire(ctx, s)
	ws.release(w, true)
	if w.limit != float64(startWindow+1)/2 {
		t.Errorf("after a loss: %v", w.limit)
	}
	lim := w.limit
	w, _ = ws.acquire(ctx, s)
	ws.release(w, false)
	if w.limit != lim+1/lim {
		t.Errorf("congestion avoidance: %v", w.limit)
	}
	for i := 0; i < 10; i++ {
		w, _ = ws.acquire(ctx, s)
		ws.release(w, true)
	}
	if w.limit != minWindow {
		t.Errorf("floor: %v", w.limit)
	}

	// A full window blocks until a slot frees, or until ctx ends.
	var held []*window
	for i := 0; i < minWindow; i++ {
		h, _ := ws.acquire(ctx, s)
		held = append(held, h)
	}
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := ws.acquire(cctx, s); err == nil {
		t.Fatal("acquired beyond the window")
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		h, err := ws.acquire(ctx, s)
		if err == nil {
			ws.release(h, false)
		}
	}()
	ws.release(held[0], false)
	wg.Wait()
}
