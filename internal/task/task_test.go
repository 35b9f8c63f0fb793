package task

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestPanicCancelsTheOthersAndIsReturned(t *testing.T) {
	g, ctx := New(context.Background())
	stopped := make(chan struct{})
	g.Go("waiter", func() error {
		<-ctx.Done()
		close(stopped)
		return nil
	})
	g.Go("parser", func() error {
		var m map[string]int
		m["x"]++ // a nil map write: a real runtime panic
		return nil
	})
	err := g.Wait()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("the other goroutine was not cancelled")
	}
	if !IsPanic(err) || !strings.Contains(err.Error(), "parser") || !strings.Contains(err.Error(), "task_test.go") {
		t.Fatalf("err = %v, want the parser's panic with its stack", err)
	}
}

func TestFirstErrorWinsAndCleanEndIsNil(t *testing.T) {
	g, ctx := New(context.Background())
	boom := errors.New("boom")
	g.Go("a", func() error { return boom })
	g.Go("b", func() error { <-ctx.Done(); return errors.New("late") })
	if err := g.Wait(); !errors.Is(err, boom) || IsPanic(err) {
		t.Fatalf("err = %v, want boom", err)
	}
	g, _ = New(context.Background())
	g.Go("c", func() error { return nil })
	if err := g.Wait(); err != nil {
		t.Fatalf("err = %v", err)
	}
}

// A worker's panic is re-raised by Wait in the owner's goroutine, after
// every worker ended, naming the worker and its stack; the owner's Safe
// (the supervisor's) then turns it into the owner's error.
func TestWorkersPanicReachesTheOwner(t *testing.T) {
	var done atomic.Int32
	err := Safe("owner", func() error {
		var w Workers
		for i := range 4 {
			w.Go("lookup", func() {
				defer done.Add(1)
				if i == 2 {
					var s []int
					_ = s[i] // a real runtime panic: index out of range
				}
			})
		}
		w.Wait()
		t.Error("Wait returned after a worker panicked")
		return nil
	})
	if done.Load() != 4 {
		t.Errorf("%d workers ended before Wait re-raised, want 4", done.Load())
	}
	if !IsPanic(err) || !strings.Contains(err.Error(), "owner panicked: lookup panicked: runtime error: index out of range") ||
		!strings.Contains(err.Error(), "task_test.go") {
		t.Errorf("err = %.600v", err)
	}
	var w Workers
	w.Go("fine", func() {})
	w.Wait() // no panic
	if w.Failed() {
		t.Error("Failed without a panic")
	}
}
