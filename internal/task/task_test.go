package task

import (
	"context"
	"errors"
	"strings"
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
