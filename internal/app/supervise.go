package app

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync/atomic"
	"time"
)

// supervised is one running watch.
type supervised struct {
	name   string
	cancel context.CancelFunc
	done   chan struct{}
	// up is true while the watch runs, false while it waits to restart
	// (the dashboard's status, as vigie_watch_up).
	up atomic.Bool
}

// supervise runs w until ctx is done. A watch that fails or panics is
// logged, counted and started again, after a pause that doubles up to
// maxBackoff and goes back to the first one once the watch has run well
// for a while. It never takes other watches down.
func (a *App) supervise(ctx context.Context, w Watch) *supervised {
	ctx, cancel := context.WithCancel(ctx)
	s := &supervised{name: w.Name(), cancel: cancel, done: make(chan struct{})}
	log := a.log.With("component", w.Name())
	go func() {
		defer close(s.done)
		backoff := a.o.RestartBackoff
		for {
			a.watchUp.WithLabelValues(s.name).Set(1)
			s.up.Store(true)
			started := time.Now()
			err := runSafely(ctx, w)
			a.watchUp.WithLabelValues(s.name).Set(0)
			s.up.Store(false)
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				log.Info("watch finished")
				return
			}
			a.watchRestarts.WithLabelValues(s.name).Inc()
			if time.Since(started) > 10*maxBackoff {
				backoff = a.o.RestartBackoff
			}
			log.Error("watch failed; restarting", "err", err, "in", backoff)
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

func runSafely(ctx context.Context, w Watch) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	return w.Run(ctx)
}

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
