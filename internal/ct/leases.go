package ct

import (
	"bytes"
	"context"
	"sort"
	"sync"
	"time"

	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/task"
)

// leaseSweep names the CT logs' leases in the store.
const leaseSweep = "ct-logs"

// runLeased follows the logs this node holds a lease on, one shard per
// log, until ctx is done. Every third of LeaseTTL it renews its leases and
// claims its fair share of the live nodes' logs: followers start for the
// logs it gained and stop for the logs it gave back. A log that another
// node followed continues from the position that node saved. On SQLite
// (one node) every log is this node's. On stop the leases are released so
// that the other nodes take the logs at their next claim.
func (w *Watch) runLeased(ctx context.Context) error {
	// shard i is the log with the i-th smallest key ID: the same on every
	// node whatever the order of the logs in its config
	order := make([]int, len(w.logs))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool {
		return bytes.Compare(w.logs[order[a]].Key.ID[:], w.logs[order[b]].Key.ID[:]) < 0
	})
	ttl := w.o.LeaseTTL
	if ttl <= 0 {
		ttl = 30 * time.Second
	}
	if len(order) == 0 {
		<-ctx.Done()
		return nil
	}
	var wg sync.WaitGroup
	type follow struct {
		stop context.CancelFunc
		done chan struct{}
	}
	running := map[int]follow{}
	failed := make(chan error, 1) // a follower's panic: the watch's error
	defer func() {
		for _, f := range running {
			f.stop()
		}
		wg.Wait()
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := w.o.Store.ReleaseShards(rctx, leaseSweep, w.o.Node); err != nil {
			w.log.Warn("ct: releasing this node's logs", "err", err)
		}
	}()
	t := time.NewTicker(ttl / 3)
	defer t.Stop()
	for {
		held, err := w.claim(ctx, len(order), ttl)
		switch {
		case err != nil && ctx.Err() == nil:
			// keep following what it holds: its leases last ttl, and
			// if it cannot renew them another node may take over, a
			// log then being read twice for a while, never not at all
			w.log.Error("ct: renewing the leases on the logs", "err", err)
		case err == nil:
			// A follower that stopped by itself (its state did not load,
			// the log failed) is started again below: retried every claim.
			for sh, f := range running {
				select {
				case <-f.done:
					delete(running, sh)
				default:
				}
			}
			want := map[int]bool{}
			for _, sh := range held {
				want[sh] = true
			}
			for sh, f := range running {
				if !want[sh] {
					w.log.Info("ct: log handed to another node", "log", w.logs[order[sh]].Name)
					f.stop()
					<-f.done // its last position is saved before another follower may start
					delete(running, sh)
					w.noteFollowing(w.logs[order[sh]].Name, false)
				}
			}
			for sh := range want {
				if _, ok := running[sh]; ok || sh >= len(order) {
					continue
				}
				l := w.logs[order[sh]]
				fctx, stop := context.WithCancel(ctx)
				done := make(chan struct{})
				running[sh] = follow{stop: stop, done: done}
				w.log.Info("ct: following log", "log", l.Name, "node", w.o.Node)
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer close(done)
					f := &follower{w: w, log: l, lg: w.log}
					err := task.Safe("ct follower "+l.Name, func() error { return f.run(fctx) })
					if task.IsPanic(err) {
						select {
						case failed <- err:
						default:
						}
					} else if err != nil && fctx.Err() == nil {
						w.noteFailure(l.Name, err)
						w.log.Error("ct: log stopped; retrying at the next claim", "log", l.Name, "err", err)
					}
				}()
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-failed:
			return err
		case <-t.C:
		}
	}
}

// claim renews this node's leases and takes its fair share of the logs.
func (w *Watch) claim(ctx context.Context, shards int, ttl time.Duration) ([]int, error) {
	cctx, cancel := context.WithTimeout(ctx, ttl/3)
	defer cancel()
	now := w.o.Now()
	holders, err := w.o.Store.LeaseHolders(cctx, leaseSweep, now)
	if err != nil {
		return nil, err
	}
	nodes := len(holders)
	if _, ok := holders[w.o.Node]; !ok {
		nodes++
	}
	return w.o.Store.ClaimShards(cctx, store.LeaseClaim{Sweep: leaseSweep, Node: w.o.Node, Shards: shards,
		Max: store.FairShare(shards, nodes), TTL: ttl, Now: now})
}
