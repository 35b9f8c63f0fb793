package policy

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
)

// SyncInterval is how often a node exchanges its counters with the shared
// store. It bounds the overshoot of a limit across nodes: a node does not
// yet see what the others admitted in the last SyncInterval (plus the
// database round trip).
const SyncInterval = 250 * time.Millisecond

// syncTimeout bounds one exchange: a slow database makes the node go on
// with the counts it has (and say so) rather than fall behind.
const syncTimeout = time.Second

// readMargin re-reads the rows written shortly before the last read: a
// write stamped before it may have committed after it.
const readMargin = time.Second

// hotGap is the least time between two exchanges asked by accounts
// crossing an eighth of their limit, so a burst of them costs a few
// exchanges.
const hotGap = 10 * time.Millisecond

// sharedState is the policy server's view of the counters other nodes
// keep in a shared store.
type sharedState struct {
	st   store.SharedCounters
	node string
	// since: the database time of the last read (minus readMargin)
	since time.Time
	// stale is set while the exchange fails: decisions then rely on
	// this node's counts and the others' as last read
	stale        atomic.Bool
	staleAnswers atomic.Int64
	downSince    time.Time
	lastErr      error
}

// restoreShared loads every node's recent slots: this node's own (it was
// restarted) and the others'.
func (s *Server) restoreShared(ctx context.Context) error {
	sh := s.shared
	slots, at, err := sh.st.Counts(ctx, "", time.Time{})
	if err != nil {
		return err
	}
	s.limiter.applySlots(sh.node, slots)
	sh.since = at.Add(-readMargin)
	return nil
}

// syncLoop exchanges counters every SyncInterval, reads the suspensions
// twice a second and drops old slots every minute, until ctx is done.
func (s *Server) syncLoop(ctx context.Context) {
	tick := time.NewTicker(SyncInterval)
	defer tick.Stop()
	var n int
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			s.pushCounts(fctx)
			cancel()
			return
		case <-s.limiter.hot:
			if wait := hotGap - time.Since(last); wait > 0 {
				select {
				case <-ctx.Done():
					continue
				case <-time.After(wait):
				}
			}
			s.syncOnce(ctx)
			last = time.Now()
			continue
		case <-tick.C:
		}
		n++
		s.syncOnce(ctx)
		last = time.Now()
		if n%2 == 0 {
			rctx, cancel := context.WithTimeout(ctx, syncTimeout)
			if err := s.refreshSuspensions(rctx); err != nil && ctx.Err() == nil {
				s.badLog.log(s.log, "policy: reading suspensions; keeping the last ones read", "err", err)
			}
			cancel()
		}
		if n%int(time.Minute/SyncInterval) == 0 {
			s.limiter.prune(s.now())
			dctx, cancel := context.WithTimeout(ctx, syncTimeout)
			if _, err := s.shared.st.DeleteCountsBefore(dctx, s.now().Add(-time.Minute)); err != nil && ctx.Err() == nil {
				s.log.Warn("policy: dropping old shared counters", "err", err)
			}
			cancel()
		}
	}
}

func (s *Server) pushCounts(ctx context.Context) error {
	slots, done := s.limiter.pendingSlots(s.shared.node)
	err := s.shared.st.PutCounts(ctx, s.shared.node, slots)
	s.limiter.commitPushed(done, err != nil)
	return err
}

// syncOnce writes this node's changed slots, reads the others', and keeps
// track of outages: the first failure is logged, and when the store
// answers again a finding records how long the node decided alone and
// how many requests it let through meanwhile.
func (s *Server) syncOnce(ctx context.Context) {
	sh := s.shared
	cctx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	err := s.pushCounts(cctx)
	if err == nil {
		var slots []store.CountSlot
		var at time.Time
		slots, at, err = sh.st.Counts(cctx, sh.node, sh.since)
		if err == nil {
			s.limiter.applySlots(sh.node, slots)
			sh.since = at.Add(-readMargin)
		}
	}
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		s.m.syncs["error"].Inc()
		sh.lastErr = err
		if !sh.stale.Swap(true) {
			sh.downSince = s.now()
			s.log.Error("policy: the shared store does not answer; deciding on this node's counts and the other nodes' as last read (fail-open) until it does",
				"err", err)
		}
		return
	}
	s.m.syncs["ok"].Inc()
	if sh.stale.Swap(false) {
		s.sharedRecovered(ctx, sh.downSince, s.now(), sh.staleAnswers.Swap(0), sh.lastErr)
	}
}

// sharedRecovered records an outage of the shared store as a finding.
func (s *Server) sharedRecovered(ctx context.Context, from, to time.Time, answers int64, cause error) {
	s.log.Warn("policy: the shared store answers again; counters shared anew",
		"down_for", to.Sub(from).Round(time.Millisecond), "answered_alone", answers)
	if s.sink == nil {
		return
	}
	f := vigie.Finding{Watch: WatchName, Rule: string(RuleSharedStoreUnavailable), Subject: s.shared.node,
		Severity: vigie.SeverityWarning, Time: to,
		Summary: fmt.Sprintf("node %s could not reach the shared store for %s: it answered %d requests DUNNO (fail-open) "+
			"without the other nodes' counts, so accounts were limited on this node's counts alone",
			s.shared.node, to.Sub(from).Round(time.Second), answers),
		Evidence: map[string]string{"node": s.shared.node, "from": from.UTC().Format(time.RFC3339Nano),
			"to": to.UTC().Format(time.RFC3339Nano), "answered_alone": strconv.FormatInt(answers, 10),
			"error": fmt.Sprint(cause)}}
	ectx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := s.sink.Emit(ectx, f); err != nil && ctx.Err() == nil {
		s.log.Error("policy: emitting a finding", "err", err)
	}
}
