package policy

import (
	"testing"
	"time"

	"github.com/vigie/vigie/internal/config"
)

// Two limiters exchanging slots as two nodes do through the shared store:
// each adds the other's counts to its own, a slot re-read replaces
// rather than adds, a failed write is written again, and counts leave
// with the window.
func TestSharedLimiterExchange(t *testing.T) {
	lim := Limits{Default: []config.Limit{{Window: time.Minute, Messages: 10}}}
	a, b := NewLimiter(lim), NewLimiter(lim)
	a.share()
	b.share()
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 4 {
		if v := a.Take("sasl:x", 1, t0.Add(time.Duration(i)*time.Second), 0); v.Over {
			t.Fatalf("a refused message %d", i)
		}
	}
	slots, done := a.pendingSlots("a")
	if len(slots) != 4 {
		t.Fatalf("a has %d slots to write, want 4 (one per second)", len(slots))
	}
	a.commitPushed(done, true) // the write failed: all of it again next time
	slots, done = a.pendingSlots("a")
	if len(slots) != 4 {
		t.Fatalf("after a failed write a has %d slots to write, want 4 again", len(slots))
	}
	a.commitPushed(done, false)
	if s, _ := a.pendingSlots("a"); len(s) != 0 {
		t.Fatalf("after a good write a still has %d slots to write", len(s))
	}
	b.applySlots("b", slots)
	b.applySlots("b", slots) // read twice (the read margin): the same counts
	now := t0.Add(4 * time.Second)
	if u := b.Usage("sasl:x", now); len(u) != 1 || u[0].Messages != 4 {
		t.Fatalf("b sees %+v, want a's 4 messages", u)
	}
	accepted := 0
	for i := range 10 {
		if v := b.Take("sasl:x", 1, now, 0); !v.Over {
			accepted++
		} else if i < 6 {
			t.Fatalf("b refused message %d with 4 counted on a", i)
		}
	}
	if accepted != 6 {
		t.Errorf("b accepted %d, want 6 (10 - a's 4)", accepted)
	}
	// a's fifth message, in a slot already written, is written again whole
	a.Take("sasl:x", 1, t0.Add(3*time.Second+500*time.Millisecond), 0)
	slots, done = a.pendingSlots("a")
	a.commitPushed(done, false)
	if len(slots) != 1 || slots[0].Messages != 2 {
		t.Fatalf("a writes %+v, want its 4th second's slot with 2 messages", slots)
	}
	b.applySlots("b", slots)
	if u := b.Usage("sasl:x", now); u[0].Messages != 11 {
		t.Errorf("b sees %d messages, want 11 (6 own + 5 of a)", u[0].Messages)
	}
	if u := b.Usage("sasl:x", t0.Add(63*time.Second)); u[0].Messages != 6 {
		t.Errorf("a minute later b sees %d messages, want its own 6 (a's left the window)", u[0].Messages)
	}
}

func TestCrossesStep(t *testing.T) {
	for _, c := range []struct {
		count, n uint64
		limit    int
		want     bool
	}{
		{0, 1, 100, false},
		{11, 1, 100, true}, // 12 = 100/8
		{12, 1, 100, false},
		{23, 1, 100, true},
		{95, 1, 100, true},
		{10, 5, 100, true}, // several recipients at once
		{0, 1, 0, false},   // no limit
		{0, 1, 3, true},    // a step of at least 1
		{2, 1, 3, true},
	} {
		if got := crossesStep(c.count, c.n, c.limit); got != c.want {
			t.Errorf("crossesStep(%d, %d, %d) = %v, want %v", c.count, c.n, c.limit, got, c.want)
		}
	}
}
