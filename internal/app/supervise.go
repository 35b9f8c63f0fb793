package app

import (
	"context"
	"sync"
	"time"

	"github.com/vigie/vigie/internal/health"
	"github.com/vigie/vigie/internal/selfwatch"
	"github.com/vigie/vigie/internal/task"
)

// supervised is one running watch and what its supervisor knows of it.
type supervised struct {
	name   string
	w      Watch
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	up       bool
	since    time.Time
	failures []time.Time // within restartWindow
	lastErr  string
}

// restartWindow is how far back failures count towards a restart loop.
const restartWindow = 15 * time.Minute

func (s *supervised) set(up bool, now time.Time, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.up, s.since = up, now
	if err != nil {
		s.lastErr = err.Error()
		s.failures = append(s.failures, now)
	}
}

// state is the watch as the self-watch and /healthz see it.
func (s *supervised) state(now time.Time) selfwatch.WatchState {
	s.mu.Lock()
	kept := s.failures[:0]
	for _, t := range s.failures {
		if now.Sub(t) < restartWindow {
			kept = append(kept, t)
		}
	}
	s.failures = kept
	st := selfwatch.WatchState{Name: s.name, Up: s.up, Since: s.since, Restarts: len(kept), LastError: s.lastErr}
	s.mu.Unlock()
	if r, ok := s.w.(health.Reporter); ok {
		st.Reports = true
		st.Report = r.Health(now)
	}
	return st
}

// supervise runs w until ctx is done. A watch that fails or panics (in
// any goroutine it started through package task) is logged, counted and
// started again, after a pause that doubles up to maxBackoff and goes back
// to the first one once the watch has run well for a while. It never takes
// other watches down. While it waits it is down (vigie_watch_up 0,
// /healthz, the self-watch).
func (a *App) supervise(ctx context.Context, w Watch) *supervised {
	ctx, cancel := context.WithCancel(ctx)
	// up from the start: a watch is starting, not failed
	s := &supervised{name: w.Name(), w: w, cancel: cancel, done: make(chan struct{}), up: true, since: a.o.Now()}
	log := a.log.With("component", w.Name())
	go func() {
		defer close(s.done)
		backoff := a.o.RestartBackoff
		for {
			a.watchUp.WithLabelValues(s.name).Set(1)
			started := time.Now()
			s.set(true, a.o.Now(), nil)
			err := task.Safe(s.name+" watch", func() error { return w.Run(ctx) })
			a.watchUp.WithLabelValues(s.name).Set(0)
			if ctx.Err() != nil {
				s.set(false, a.o.Now(), nil)
				return
			}
			if err == nil {
				s.set(false, a.o.Now(), nil)
				log.Info("watch finished")
				return
			}
			s.set(false, a.o.Now(), err)
			a.watchRestarts.WithLabelValues(s.name).Inc()
			if time.Since(started) > 10*maxBackoff {
				backoff = a.o.RestartBackoff
			}
			log.Error("watch failed; restarting", "err", err, "in", backoff, "panic", task.IsPanic(err))
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return
			}
			backoff = min(2*backoff, maxBackoff)
		}
	}()
	return s
}

const maxBackoff = 5 * time.Minute

// stopAll cancels the watches and waits for them, at most until deadline;
// it returns the names of those that did not stop in time.
func stopAll(ws []*supervised, deadline time.Time) []string {
	for _, s := range ws {
		s.cancel()
	}
	var late []string
	for _, s := range ws {
		select {
		case <-s.done:
		case <-time.After(time.Until(deadline)):
			late = append(late, s.name)
		}
	}
	return late
}
