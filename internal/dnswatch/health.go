package dnswatch

import (
	"fmt"
	"sync"
	"time"

	"github.com/vigie/vigie/internal/health"
)

// CauseSweepOverdue: no delegation sweep finished for three
// dns.parent_interval: a hijack now would go unseen.
const CauseSweepOverdue health.Cause = "dns-sweep-overdue"

// overdueAfter is how many parent intervals may pass without a finished
// sweep before the watch says it is blind.
const overdueAfter = 3

type sweepSight struct {
	mu       sync.Mutex
	started  time.Time // when the watch (re)started
	lastDone time.Time // when a sweep last finished
	took     time.Duration
	domains  int
}

func (s *sweepSight) start(now time.Time) {
	s.mu.Lock()
	s.started = now
	s.mu.Unlock()
}

func (s *sweepSight) done(now time.Time, took time.Duration, domains int) {
	s.mu.Lock()
	s.lastDone, s.took, s.domains = now, took, domains
	s.mu.Unlock()
}

// Health implements health.Reporter.
func (w *Watch) Health(now time.Time) health.Report {
	s := &w.sight
	s.mu.Lock()
	defer s.mu.Unlock()
	r := health.Report{LastSuccess: s.lastDone}
	since := s.lastDone
	if since.Before(s.started) {
		since = s.started
	}
	if since.IsZero() {
		return r
	}
	limit := overdueAfter * w.c.ParentInterval
	late := now.Sub(since)
	if late > w.c.ParentInterval {
		r.Lag = late.Round(time.Second).String()
	}
	if late <= limit {
		return r
	}
	ev := map[string]string{"parent_interval": w.c.ParentInterval.String(), "since": since.UTC().Format(time.RFC3339)}
	if !s.lastDone.IsZero() {
		ev["last_sweep_took"] = s.took.Round(time.Millisecond).String()
		ev["domains"] = fmt.Sprint(s.domains)
	}
	r.Blind = append(r.Blind, health.Blind{Cause: CauseSweepOverdue,
		Summary: fmt.Sprintf("no DNS sweep finished for %s (every %s expected): a delegation hijack now would go unseen",
			late.Round(time.Second), w.c.ParentInterval),
		Evidence: ev})
	return r
}
