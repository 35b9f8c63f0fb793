package dnswatch

import (
	"context"
	"net/netip"
	"strconv"
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
	take := func() *window {
		w := ws.tryAcquire(s, func(*window) { t.Fatal("waited with a free slot") })
		if w == nil {
			t.Fatal("no slot")
		}
		return w
	}
	give := func(w *window, lost bool) { ws.release(w, lost) }
	w := take()
	give(w, false)
	if w.limit != startWindow+1 {
		t.Errorf("slow start: %v", w.limit)
	}
	give(take(), true)
	if w.limit != float64(startWindow+1)/2 {
		t.Errorf("after a loss: %v", w.limit)
	}
	lim := w.limit
	give(take(), false)
	if w.limit != lim+1/lim {
		t.Errorf("congestion avoidance: %v", w.limit)
	}
	for i := 0; i < 10; i++ {
		give(take(), true)
	}
	if w.limit != minWindow {
		t.Errorf("floor: %v", w.limit)
	}

	// A full window queues the next queries, in order; each release
	// hands its slot to the first one waiting, without a goroutine.
	var held []*window
	for i := 0; i < minWindow; i++ {
		held = append(held, take())
	}
	var got []int
	for i := 0; i < 3; i++ {
		if ws.tryAcquire(s, func(w *window) { got = append(got, i); held = append(held, w) }) != nil {
			t.Fatal("acquired beyond the window")
		}
	}
	give(held[0], true) // a loss: the window stays at its floor, one slot freed
	if len(got) != 1 || got[0] != 0 {
		t.Fatalf("after one release: waiters served %v, want [0]", got)
	}
	give(held[1], true)
	give(held[2], true)
	if len(got) != 3 || got[1] != 1 || got[2] != 2 {
		t.Fatalf("waiters served %v, want [0 1 2]", got)
	}
	if w.inflight != minWindow {
		t.Fatalf("in flight %d, want %d", w.inflight, minWindow)
	}
}

// A sweep keeps to the rate limit of each server: the queries beyond
// the burst wait their turn (on the client's timer wheel), none is lost.
func TestSweepKeepsTheRateLimit(t *testing.T) {
	h := startHostile(t) // not evil: every answer good
	var lines []string
	for i := 0; i < 60; i++ {
		lines = append(lines, "good"+strconv.Itoa(i)+".test")
	}
	m, err := New(Options{Parents: map[string][]string{"test.": {h.addr()}}, Timeout: time.Second,
		Retries: 1, Backoff: 10 * time.Millisecond, InFlight: 50, RateLimit: 200})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.SetInventory(Inventory{Lines: lines}.Scan); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	res, err := m.Sweep(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(t0)
	// 120 queries (NS, then DS: the referral says nothing of it), 20 in
	// the burst of 100 ms, the other 100 at 200 a second: 0.5 s at least.
	if len(res.Errors) != 0 || res.Queries < 120 { // more when a slow answer is asked again
		t.Fatalf("errors %v, %d queries", res.Errors, res.Queries)
	}
	if elapsed < 450*time.Millisecond || elapsed > 10*time.Second {
		t.Fatalf("120 queries at 200/s took %v", elapsed)
	}
}
