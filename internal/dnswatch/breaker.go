package dnswatch

import (
	"context"
	"sync"

	"github.com/vigie/vigie/internal/task"
)

// breaker holds the first failure of a goroutine a Monitor started: a
// panic in a sweep worker, a serial check or a socket's reader or sender
// (a parser bug on a hostile answer). The sweep then stops, the queries
// waiting for an answer end with it, and the watch returns it, so that
// the supervisor restarts the DNS watch alone (never the daemon).
type breaker struct {
	once sync.Once
	ch   chan struct{}
	mu   sync.Mutex
	err  error
	// onTrip runs once, on a goroutine of its own, when the breaker
	// trips: the client ends the queries in flight.
	onTrip func()
}

func newBreaker() *breaker { return &breaker{ch: make(chan struct{})} }

func (b *breaker) trip(err error) {
	b.once.Do(func() {
		b.mu.Lock()
		b.err = err
		b.mu.Unlock()
		close(b.ch)
		if b.onTrip != nil {
			go b.onTrip()
		}
	})
}

// done is closed once the breaker tripped.
func (b *breaker) done() <-chan struct{} { return b.ch }

// error is the failure, nil while none.
func (b *breaker) error() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// safe runs f, a goroutine named name, tripping the breaker if it panics.
func (b *breaker) safe(name string, f func()) {
	if testFault != nil {
		g := f
		f = func() { testFault(name); g() }
	}
	if err := task.Safe(name, func() error { f(); return nil }); err != nil {
		b.trip(err)
	}
}

// stopped is why a sweep must stop now: ctx ended, or a goroutine failed.
func (m *Monitor) stopped(ctx context.Context) error {
	if err := m.client.brk.error(); err != nil {
		return err
	}
	return ctx.Err()
}

// testFault, set by this package's tests only, is called at the start of
// every goroutine the Monitor runs under its breaker, with its name (the
// panic tests panic in the one they target). Nil in vigie.
var testFault func(goroutine string)
