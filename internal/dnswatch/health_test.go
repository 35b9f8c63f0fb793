package dnswatch

import (
	"testing"
	"time"
)

func TestSweepOverdueIsBlind(t *testing.T) {
	t0 := time.Date(2024, 9, 29, 13, 0, 0, 0, time.UTC)
	w := &Watch{c: WatchConfig{ParentInterval: time.Minute}}
	w.sight.start(t0)
	if r := w.Health(t0.Add(2 * time.Minute)); len(r.Blind) != 0 {
		t.Fatalf("blind 2 minutes after start: %+v", r)
	}
	if r := w.Health(t0.Add(4 * time.Minute)); len(r.Blind) != 1 || r.Blind[0].Cause != CauseSweepOverdue {
		t.Fatalf("no sweep in 4 intervals, not blind: %+v", r)
	}
	w.sight.done(t0.Add(4*time.Minute), 40*time.Second, 751)
	if r := w.Health(t0.Add(5 * time.Minute)); len(r.Blind) != 0 || !r.LastSuccess.Equal(t0.Add(4*time.Minute)) {
		t.Fatalf("a sweep just finished, still blind: %+v", r)
	}
	if r := w.Health(t0.Add(8 * time.Minute)); len(r.Blind) != 1 || r.Blind[0].Evidence["domains"] != "751" {
		t.Fatalf("overdue again: %+v", r)
	}
}
