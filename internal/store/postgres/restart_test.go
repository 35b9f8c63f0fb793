package postgres

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/alert"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/testutil/pgtest"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watches"
)

// The database restarts (here: crashes, then starts again) while findings
// flow through the real pipeline. The store reconnects by itself; every
// Emit that returned nil is in the database afterwards, and writes work
// again without reopening anything.
func TestServerRestartLosesNothingAcknowledged(t *testing.T) {
	pg.Server(t) // skips or fails when PostgreSQL is missing
	srv, err := pgtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	_, dsn, err := srv.CreateDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	db := openDSN(t, dsn, Options{RetryFor: 20 * time.Second})
	defer db.Close()
	p := alert.New(alert.Options{Watches: watches.All(), Store: db, Node: "node-1"})

	var mu sync.Mutex
	acked := map[string]bool{}
	failed := 0
	stop := make(chan struct{})
	done := make(chan struct{})
	emitted := make(chan int, 1000)
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			subject := fmt.Sprintf("user%d", i%7)
			summary := fmt.Sprintf("finding %d", i)
			err := p.Emit(ctx, vigie.Finding{Watch: "mail", Rule: "account-volume", Subject: subject,
				Severity: vigie.SeverityWarning, Summary: summary, Time: time.Now()})
			mu.Lock()
			if err == nil {
				acked[summary] = true
			} else {
				failed++
			}
			mu.Unlock()
			select {
			case emitted <- i:
			default:
			}
		}
	}()
	waitFor := func(n int) {
		t.Helper()
		deadline := time.After(60 * time.Second)
		for {
			select {
			case i := <-emitted:
				if i >= n {
					return
				}
			case <-deadline:
				t.Fatalf("the writer did not reach %d findings", n)
			}
		}
	}
	waitFor(50)
	srv.Kill()
	time.Sleep(300 * time.Millisecond)
	if err := srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	before := len(acked)
	mu.Unlock()
	waitFor(before + 100)
	close(stop)
	<-done

	fs, err := db.ListFindings(ctx, store.FindingQuery{Limit: 1 << 20})
	if err != nil {
		t.Fatalf("listing after the restart: %v", err)
	}
	stored := map[string]bool{}
	for _, f := range fs {
		stored[f.Summary] = true
		if f.Node != "node-1" {
			t.Errorf("finding %q has node %q", f.Summary, f.Node)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for s := range acked {
		if !stored[s] {
			t.Errorf("acknowledged %q is not in the database", s)
		}
	}
	alerts, err := db.ListAlerts(ctx, store.AlertQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 7 {
		t.Errorf("%d alerts, want 7 (one per subject)", len(alerts))
	}
	t.Logf("%d findings acknowledged (%d before the crash was over), %d Emit calls failed, %d findings stored",
		len(acked), before, failed, len(fs))
}
