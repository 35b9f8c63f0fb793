// Package task runs the goroutines one owner (a watch) starts as one unit:
// every goroutine is waited for, a panic in any of them becomes an error
// instead of killing the daemon, and the first failure cancels the others
// so the owner returns it and its supervisor restarts that owner only.
package task

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// PanicError is a panic turned into an error: what panicked, where.
type PanicError struct {
	Task  string // the goroutine's name
	Value any
	Stack []byte
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("%s panicked: %v\n%s", e.Task, e.Value, e.Stack)
}

// IsPanic reports whether err comes from a panic.
func IsPanic(err error) bool {
	var p *PanicError
	return errors.As(err, &p)
}

// Safe runs f, turning a panic into a *PanicError naming name.
func Safe(name string, f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Task: name, Value: r, Stack: debug.Stack()}
		}
	}()
	return f()
}

// A Group is the goroutines of one owner.
type Group struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
	err    error
}

// New returns a group and the context its goroutines run under: done
// when ctx is, or when one of them failed.
func New(ctx context.Context) (*Group, context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	return &Group{cancel: cancel}, ctx
}

// Go runs f on its own goroutine. If f returns an error or panics, the
// group's context is cancelled and Wait returns that error (the first one).
func (g *Group) Go(name string, f func() error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := Safe(name, f); err != nil {
			g.once.Do(func() {
				g.err = fmt.Errorf("%s: %w", name, err)
				g.cancel()
			})
		}
	}()
}

// Wait waits for every goroutine and returns the first failure.
func (g *Group) Wait() error {
	g.wg.Wait()
	g.cancel()
	return g.err
}

// Workers are the short-lived goroutines one owner fans out and waits for
// (a lookup per blocklist zone, a range of CT entries, a queue file per
// message). Wait re-raises the first panic among them in the caller's
// goroutine, where the owner's supervision is (a Group's goroutine, a
// watch's Run): a parser bug in a worker then restarts that watch like a
// bug in the watch's own loop, instead of killing the daemon. The panic
// value is the worker's *PanicError, with the worker's name and stack.
type Workers struct {
	wg    sync.WaitGroup
	panic atomic.Pointer[PanicError]
}

// Go runs f on its own goroutine.
func (w *Workers) Go(name string, f func()) {
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		err := Safe(name, func() error { f(); return nil })
		var p *PanicError
		if errors.As(err, &p) {
			w.panic.CompareAndSwap(nil, p)
		}
	}()
}

// Failed reports whether a worker has panicked so far: the others may
// stop taking work.
func (w *Workers) Failed() bool { return w.panic.Load() != nil }

// Wait waits for every worker, then panics with the first worker's panic.
func (w *Workers) Wait() {
	w.wg.Wait()
	if p := w.panic.Load(); p != nil {
		panic(p)
	}
}
