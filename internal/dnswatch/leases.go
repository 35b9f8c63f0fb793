package dnswatch

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/vigie/vigie/internal/store"
)

// leaseSweep names the DNS shards' leases in the store.
const leaseSweep = "dns-domains"

// share is the set of shards this node holds, as the lease keeper last
// claimed it; the sweep loop reads it before every sweep.
type share struct {
	mu      sync.Mutex
	shards  []int
	claimed bool          // at least one claim succeeded
	gained  chan struct{} // signalled when shards were added
}

func (s *share) get() ([]int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shards, s.claimed
}

// keepLeases renews this node's leases every third of the TTL and claims
// its fair share of the live nodes' shards, until ctx ends; then it
// releases them so that the other nodes take them at their next claim.
// It runs beside the sweeps, which can last longer than the TTL.
func (w *Watch) keepLeases(ctx context.Context, sh *share) {
	ttl := w.leaseTTL()
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := w.c.Store.ReleaseShards(rctx, leaseSweep, w.c.Node); err != nil {
			w.log.Warn("releasing this node's DNS shards", "err", err)
		}
	}()
	t := time.NewTicker(ttl / 3)
	defer t.Stop()
	for {
		held, err := w.claim(ctx, ttl)
		switch {
		case err != nil && ctx.Err() == nil:
			// keep sweeping what it holds: if it cannot renew, another
			// node may take over and a domain is then swept twice for a
			// while, never not at all
			w.log.Error("renewing the leases on the DNS shards", "err", err)
		case err == nil:
			sh.mu.Lock()
			old := sh.shards
			grew := !sh.claimed
			for _, s := range held {
				if !slices.Contains(old, s) {
					grew = true
				}
			}
			if !slices.Equal(old, held) {
				w.log.Info("DNS shards held", "node", w.c.Node, "shards", len(held), "of", w.c.Monitor.Shards)
			}
			sh.shards, sh.claimed = held, true
			sh.mu.Unlock()
			w.m.shards.Set(float64(len(held)))
			if grew {
				select {
				case sh.gained <- struct{}{}:
				default:
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (w *Watch) leaseTTL() time.Duration {
	if w.c.LeaseTTL <= 0 {
		return 30 * time.Second
	}
	return w.c.LeaseTTL
}

// claim renews this node's leases and takes its fair share of the shards.
func (w *Watch) claim(ctx context.Context, ttl time.Duration) ([]int, error) {
	cctx, cancel := context.WithTimeout(ctx, ttl/3)
	defer cancel()
	now := w.c.Now()
	holders, err := w.c.Store.LeaseHolders(cctx, leaseSweep, now)
	if err != nil {
		return nil, err
	}
	nodes := len(holders)
	if _, ok := holders[w.c.Node]; !ok {
		nodes++
	}
	n := w.c.Monitor.Shards
	return w.c.Store.ClaimShards(cctx, store.LeaseClaim{Sweep: leaseSweep, Node: w.c.Node, Shards: n,
		Max: store.FairShare(n, nodes), TTL: ttl, Now: now})
}
