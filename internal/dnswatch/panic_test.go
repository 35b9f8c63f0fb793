package dnswatch

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vigie/vigie/internal/alert"
	"github.com/vigie/vigie/internal/dnswatch/knottest"
	"github.com/vigie/vigie/internal/metrics"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/store/sqlite"
	"github.com/vigie/vigie/internal/task"
)

// leaseFaults is the store with a panic armed in ClaimShards, which only
// the lease keeper calls.
type leaseFaults struct {
	store.Store
	armed atomic.Bool
}

func (f *leaseFaults) ClaimShards(ctx context.Context, c store.LeaseClaim) ([]int, error) {
	if f.armed.CompareAndSwap(true, false) {
		panic("injected panic claiming the DNS shards")
	}
	return f.Store.ClaimShards(ctx, c)
}

// A panic in each kind of goroutine the DNS watch runs (a sweep worker, a
// serial check, a socket's reader and sender, the client's clock, the
// lease keeper) does not
// kill the process: it stops the watch's other goroutines and returns
// from Run as a *task.PanicError naming the goroutine, with its stack,
// which is what makes the supervisor restart the DNS watch alone
// (internal/app's panic tests show that path for every watch). Run again,
// as the supervisor does, the watch sweeps.
func TestDNSPanicsReturnAsTheWatchsError(t *testing.T) {
	if testing.Short() {
		t.Skip("starts knotd")
	}
	l := knottest.NewLab(t, []string{"alpha."}, 4)
	dir := t.TempDir()
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "vigie.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	inv := filepath.Join(dir, "domains.txt")
	os.WriteFile(inv, []byte(strings.Join(l.Domains, "\n")+"\n"), 0o644)
	// The registry twice: a zone of two servers has its serials compared.
	parents := l.Parents()
	for z, s := range parents {
		parents[z] = append(s, s...)
	}
	faults := &leaseFaults{Store: db}
	newWatch := func(split bool) *Watch {
		c := WatchConfig{
			Inventory:      Inventory{File: inv},
			ParentInterval: 50 * time.Millisecond, RecordsInterval: time.Hour,
			Monitor: Options{Parents: parents, ChildPort: uint16(l.Port()), Timeout: time.Second,
				BaselinePath: BaselinePath(dir)},
			Store: faults, Sink: alert.New(alert.Options{Store: db}), Metrics: metrics.New(prometheus.NewRegistry()),
		}
		if split {
			c.Node, c.Monitor.Shards, c.LeaseTTL = "node-a", 4, 600*time.Millisecond
		}
		return NewWatch(c)
	}
	run := func(w *Watch) error {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- w.Run(ctx) }()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			cancel()
			<-done
			t.Fatal("the watch neither failed nor stopped")
			return nil
		}
	}
	for _, c := range []struct {
		goroutine, frame string
		split            bool
	}{
		{"dns sweep worker", "dnswatch.(*Monitor).pipeline", false},
		{"dns serial check", "dnswatch.(*Monitor).checkSerials", false},
		{"dns socket reader", "dnswatch.newClient", false},
		{"dns socket sender", "dnswatch.newClient", false},
		{"dns query clock", "dnswatch.newClient", false},
		{"dns lease keeper", "dnswatch.(*Watch).keepLeases", true},
	} {
		t.Run(c.goroutine, func(t *testing.T) {
			if c.goroutine == "dns lease keeper" {
				faults.armed.Store(true)
			} else {
				target := c.goroutine
				var fired atomic.Bool
				testFault = func(g string) {
					if g == target && fired.CompareAndSwap(false, true) {
						panic("injected panic in " + g)
					}
				}
				defer func() { testFault = nil }()
			}
			err := run(newWatch(c.split))
			if !task.IsPanic(err) {
				t.Fatalf("Run returned %v, want the panic", err)
			}
			if !strings.Contains(err.Error(), c.goroutine+" panicked") || !strings.Contains(err.Error(), c.frame) {
				t.Errorf("the error does not name %q and %s:\n%.800s", c.goroutine, c.frame, err)
			}
			testFault = nil
			// Restarted, it sweeps again.
			w := newWatch(c.split)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- w.Run(ctx) }()
			waitFor(t, "a sweep after the restart", func() bool {
				return testutil.ToFloat64(w.m.sweeps.WithLabelValues("full")) >= 1
			})
			cancel()
			if err := <-done; err != nil {
				t.Errorf("the restarted watch: %v", err)
			}
		})
	}
}
