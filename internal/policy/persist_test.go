package policy

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/config"
)

// The windows survive a crash: a second server on the same store, started
// while the first still runs (as after kill -9, no final write), continues
// them from the last once-a-second write.
func TestCountersSurviveACrash(t *testing.T) {
	dir := t.TempDir()
	a := start(t, Options{Config: testConfig(), Store: openStore(t, dir)})
	ca := dial(t, a.addr)
	for i := range 3 {
		if got := ca.ask(t, eom("alice", fmt.Sprintf("C%04d", i), 1)); got != "action=DUNNO" {
			t.Fatal(got)
		}
	}
	time.Sleep(1500 * time.Millisecond) // one periodic write
	b := start(t, Options{Config: testConfig(), Store: openStore(t, dir)})
	cb := dial(t, b.addr)
	var got []string
	for i := range 3 {
		got = append(got, cb.ask(t, eom("alice", fmt.Sprintf("D%04d", i), 1)))
	}
	if got[0] != "action=DUNNO" || got[1] != "action=DUNNO" || !strings.HasPrefix(got[2], "action=HOLD") {
		t.Errorf("after restart: %q (limit 5, 3 already sent)", got)
	}
	if u := b.s.limiter.Usage("alice", time.Now()); len(u) != 1 || u[0].Messages != 5 {
		t.Errorf("usage: %+v", u)
	}
}

func TestRingSlides(t *testing.T) {
	r := newRing(time.Minute)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	sec := int64(time.Second)
	for i := range int64(30) {
		r.advance(base + i*sec)
		r.add(1, 2)
	}
	if r.totalMsgs != 30 || r.totalRcpts != 60 {
		t.Fatalf("totals %d %d", r.totalMsgs, r.totalRcpts)
	}
	r.advance(base + 65*sec) // seconds 0..5 left the window
	if r.totalMsgs != 24 {
		t.Errorf("after 65s: %d, want 24", r.totalMsgs)
	}
	r.advance(base + 10*sec) // clock stepped back: nothing changes
	if r.totalMsgs != 24 {
		t.Errorf("after a step back: %d", r.totalMsgs)
	}
	r.advance(base + 200*sec)
	if !r.empty() {
		t.Errorf("not empty after the window: %d", r.totalMsgs)
	}
	s := newRing(time.Minute)
	r.advance(base + 201*sec)
	r.add(3, 3)
	if !s.restore(r.state()) || s.totalMsgs != 3 {
		t.Errorf("restore: %d", s.totalMsgs)
	}
	if newRing(time.Hour).restore(r.state()) {
		t.Error("restored a ring of another window")
	}
}

// Past MaxSubjects, a new subject is let through uncounted (fail-open),
// however many come: the cap bounds memory and never refuses a
// legitimate new subject; existing subjects keep their own windows.
func TestSubjectCap(t *testing.T) {
	l := NewLimiter(Limits{Default: []config.Limit{{Window: time.Minute, Messages: 3}}})
	l.maxSubjects = 10
	now := time.Now()
	for i := range 10 {
		if v := l.Take(fmt.Sprintf("user%d@x", i), 1, now, 0); v.Over || v.Uncounted {
			t.Fatalf("subject %d: %+v", i, v)
		}
	}
	for i := range 1000 {
		v := l.Take(fmt.Sprintf("new%d@x", i), 1, now, 0)
		if v.Over || !v.Uncounted || !v.Locked {
			t.Fatalf("new subject %d past the cap: %+v (want let through, uncounted)", i, v)
		}
	}
	if l.subjects.Load() != 10 {
		t.Errorf("subjects %d, want 10", l.subjects.Load())
	}
	// existing subjects keep their own windows, and their limits
	for range 2 {
		if v := l.Take("user1@x", 1, now, 0); v.Over || v.Uncounted {
			t.Errorf("an existing subject lost its window: %+v", v)
		}
	}
	if v := l.Take("user1@x", 1, now, 0); !v.Over {
		t.Errorf("an existing subject's limit no longer applies: %+v", v)
	}
}
