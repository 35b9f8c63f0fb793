package ct

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/task"
	"github.com/vigie/vigie/internal/vigie"
)

// logInfo is one followed log.
type logInfo struct {
	Name   string
	URL    string
	API    string
	Key    LogKey
	client logClient
}

// follower follows one log: poll the head, download what is new in
// windows of at most verifyEvery entries, verify each window against the
// signed head, then match, record and emit.
type follower struct {
	w    *Watch
	log  logInfo
	lg   *slog.Logger
	st   *logState
	once bool // ct check: no state written, stop when caught up
}

// errBadLog marks failures that are the log's fault (bad signature,
// inconsistent tree) rather than the network's.
var errBadLog = errors.New("log misbehaves")

func (f *follower) run(ctx context.Context) error {
	if !f.once {
		f.w.noteFollowing(f.log.Name, true)
	}
	if err := f.load(ctx); err != nil {
		return err
	}
	delay := f.w.o.PollInterval
	for {
		err := f.poll(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if f.once {
			return err
		}
		if err != nil {
			f.w.noteFailure(f.log.Name, err)
			f.lg.Warn("ct log poll failed", "log", f.log.Name, "err", err)
		}
		if err := sleepCtx(ctx, delay); err != nil {
			return nil
		}
	}
}

func (f *follower) load(ctx context.Context) error {
	st, err := loadState(ctx, f.w.o.Store, f.log.Key.ID)
	if err != nil {
		return fmt.Errorf("ct: state of log %s: %w", f.log.Name, err)
	}
	f.st = st
	if st != nil && len(st.Pending) > 0 && !f.once {
		return f.flushPending(ctx)
	}
	return nil
}

// start picks where a log without state is read from.
func (f *follower) start(ctx context.Context, head Head) error {
	st := &logState{Head: head}
	if f.w.o.Start == "end" && head.Size > 3 {
		m := head.Size
		if f.log.API == "rfc6962" {
			// The frontier of size m comes from the consistency proof
			// from m to the head, which needs m < size and m not a power
			// of two.
			m--
			if m&(m-1) == 0 {
				m--
			}
		}
		fr, err := f.log.client.Frontier(ctx, m, head)
		if err != nil {
			return err
		}
		if m == head.Size && fr.root() != head.Root {
			return fmt.Errorf("%w: the stored hashes do not give the signed root", errInconsistent)
		}
		st.Frontier = fr
	}
	f.st = st
	f.lg.Info("ct log followed from", "log", f.log.Name, "position", st.Frontier.Size, "tree_size", head.Size)
	return f.save(ctx)
}

func (f *follower) save(ctx context.Context) error {
	if f.once {
		return nil
	}
	return saveState(ctx, f.w.o.Store, f.log.Key.ID, f.st)
}

func (f *follower) poll(ctx context.Context) error {
	m := f.w.metrics
	head, err := f.log.client.Head(ctx)
	if err != nil {
		if errors.Is(err, errSignature) {
			m.badHeads.WithLabelValues(f.log.Name).Inc()
			f.badLog(ctx, "log-bad-head", vigie.SeverityWarning, err, nil)
			return fmt.Errorf("%w: %w", errBadLog, err)
		}
		m.errors.WithLabelValues(f.log.Name).Inc()
		return err
	}
	m.treeSize.WithLabelValues(f.log.Name).Set(float64(head.Size))
	if f.st == nil {
		if err := f.start(ctx, head); err != nil {
			if errors.Is(err, errInconsistent) {
				f.badLog(ctx, "log-inconsistent", vigie.SeverityCritical, err, nil)
			}
			return err
		}
	}
	old := f.st.Head
	if head.Size < old.Size || (head.Size == old.Size && head.Root != old.Root) || head.Size < f.st.Frontier.Size {
		err := fmt.Errorf("%w: signed head of size %d (root %x) after head of size %d (root %x)",
			errInconsistent, head.Size, head.Root[:8], old.Size, old.Root[:8])
		f.badLog(ctx, "log-inconsistent", vigie.SeverityCritical, err, map[string]string{"tree_size": fmt.Sprint(head.Size)})
		return err
	}
	// The head is known: how far behind it this node is shows now, while
	// the backlog is read (a poll that catches up hours of entries must
	// not look like a log not polled, nor hide that it is behind).
	f.w.noteHead(f.log.Name, head.Size, f.st.Frontier.Size, false)
	for f.st.Frontier.Size < head.Size {
		if err := f.window(ctx, head); err != nil {
			if !errors.Is(err, errInconsistent) && ctx.Err() == nil {
				m.errors.WithLabelValues(f.log.Name).Inc()
			}
			return err
		}
		m.position.WithLabelValues(f.log.Name).Set(float64(f.st.Frontier.Size))
		f.w.noteHead(f.log.Name, head.Size, f.st.Frontier.Size, true)
	}
	if head.Size > f.st.Head.Size {
		f.st.Head = head
		if err := f.save(ctx); err != nil {
			return err
		}
	}
	m.position.WithLabelValues(f.log.Name).Set(float64(f.st.Frontier.Size))
	f.w.notePoll(f.log.Name, head.Size, f.st.Frontier.Size)
	return nil
}

// window downloads, verifies and processes the next entries.
func (f *follower) window(ctx context.Context, head Head) error {
	start := f.st.Frontier.Size
	end := start + int64(f.w.o.VerifyEvery)
	if end > head.Size {
		end = head.Size
	}
	entries, err := f.fetchRange(ctx, start, end, head)
	if err != nil {
		if errors.Is(err, errInconsistent) {
			f.badLog(ctx, "log-inconsistent", vigie.SeverityCritical, err, nil)
		}
		return err
	}
	fr := f.st.Frontier.clone()
	for i := range entries {
		fr.append(entries[i].LeafHash)
	}
	root := fr.root()
	if end == head.Size {
		if root != head.Root {
			err = fmt.Errorf("%w: entries %d-%d do not hash to the signed root of tree size %d", errInconsistent, start, end-1, head.Size)
		}
	} else {
		var proof []tlog.Hash
		proof, err = f.log.client.Consistency(ctx, end, head)
		if err == nil {
			_, err = checkConsistency(proof, end, head.Size, &root, head.Root)
			if err != nil {
				err = fmt.Errorf("entries %d-%d: %w", start, end-1, err)
			}
		} else if ctx.Err() == nil {
			return err // a fetch failure, not evidence against the log
		}
	}
	if err != nil {
		f.w.metrics.inconsistent.WithLabelValues(f.log.Name).Inc()
		f.badLog(ctx, "log-inconsistent", vigie.SeverityCritical, err,
			map[string]string{"first_index": fmt.Sprint(start), "last_index": fmt.Sprint(end - 1), "tree_size": fmt.Sprint(head.Size)})
		return err
	}

	// Verified: now parse and match.
	wl := f.w.Watchlist()
	var names []string
	var found []vigie.Finding
	inWindow := map[string]bool{} // a precertificate and its certificate are one finding
	now := f.w.o.Now()
	for i := range entries {
		e := &entries[i]
		cm, ok, n, err := matchEntry(wl, e, names)
		names = n
		if err != nil {
			f.st.Malformed++
			f.w.metrics.malformed.WithLabelValues(f.log.Name).Inc()
			if !ok && !f.once {
				f.w.recordMalformed(ctx, f.log.Name, e.Index, err)
			}
		}
		if !ok {
			continue
		}
		cm.Log = f.log.Name
		f.w.metrics.matches.Inc()
		if f.once {
			f.w.o.OnMatch(cm)
			continue
		}
		fd, keep, err := f.w.certFinding(ctx, cm, now)
		if err != nil {
			return err
		}
		if keep && !inWindow[fd.Key] {
			inWindow[fd.Key] = true
			found = append(found, fd)
		}
	}
	f.w.metrics.entries.WithLabelValues(f.log.Name).Add(float64(len(entries)))
	f.st.Frontier = fr
	f.st.Head = head
	f.st.Pending = found
	if err := f.save(ctx); err != nil {
		return err
	}
	f.w.metrics.position.WithLabelValues(f.log.Name).Set(float64(fr.Size))
	if len(found) > 0 {
		return f.flushPending(ctx)
	}
	return nil
}

// flushPending emits the findings saved with the last window, skipping
// those already in the store (vigie died after emitting them), then
// clears them.
func (f *follower) flushPending(ctx context.Context) error {
	var already map[string]bool
	for _, fd := range f.st.Pending {
		if already == nil {
			already = map[string]bool{}
			recs, err := f.w.o.Store.ListFindings(ctx, store.FindingQuery{Watch: watchName, Since: fd.Time.Add(-time.Second), Limit: 10000})
			if err != nil {
				return err
			}
			for _, r := range recs {
				already[r.AlertKey()+"|"+r.Evidence["log"]+"|"+r.Evidence["index"]] = true
			}
		}
		if already[fd.AlertKey()+"|"+fd.Evidence["log"]+"|"+fd.Evidence["index"]] {
			continue
		}
		if err := f.w.o.Sink.Emit(ctx, fd); err != nil {
			return err
		}
		f.w.markSeen(ctx, fd.Evidence["tbs_sha256"])
	}
	f.st.Pending = nil
	return f.save(ctx)
}

// fetchRange downloads [start, end) with up to Concurrency requests in
// flight, each chunk in order.
func (f *follower) fetchRange(ctx context.Context, start, end int64, head Head) ([]Entry, error) {
	chunk := int64(f.w.o.BatchSize)
	if f.log.API == "static" {
		chunk = tileWidth
	}
	type span struct{ from, to int64 }
	var spans []span
	for s := start; s < end; {
		e := (s/chunk + 1) * chunk // aligned, so tiles are whole
		if e > end {
			e = end
		}
		spans = append(spans, span{s, e})
		s = e
	}
	results := make([][]Entry, len(spans))
	errs := make([]error, len(spans))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, f.w.o.Concurrency)
	// A fetcher's panic (a log's entries a parser did not expect) is
	// re-raised by Wait in the follower's goroutine, whose supervision
	// restarts the CT watch.
	var ws task.Workers
	for i, sp := range spans {
		ws.Go("ct entries fetcher", func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			for s := sp.from; s < sp.to; {
				es, err := f.log.client.Entries(ctx, s, sp.to, head)
				if err != nil {
					errs[i] = err
					cancel()
					return
				}
				results[i] = append(results[i], es...)
				s += int64(len(es))
			}
		})
	}
	ws.Wait()
	var out []Entry
	for i := range spans {
		if errs[i] != nil && !errors.Is(errs[i], context.Canceled) {
			return nil, errs[i]
		}
	}
	for i := range spans {
		if errs[i] != nil {
			return nil, errs[i]
		}
		out = append(out, results[i]...)
	}
	return out, nil
}

// badLog reports a log that served something its key or tree does not
// vouch for.
func (f *follower) badLog(ctx context.Context, rule string, sev vigie.Severity, err error, ev map[string]string) {
	f.lg.Error("ct log misbehaves", "log", f.log.Name, "rule", rule, "err", err)
	if f.once {
		f.w.o.OnLogError(f.log.Name, rule, err)
		return
	}
	if ev == nil {
		ev = map[string]string{}
	}
	ev["log"], ev["url"], ev["error"] = f.log.Name, f.log.URL, err.Error()
	fd := vigie.Finding{Watch: watchName, Rule: rule, Subject: f.log.Name, Severity: sev, Time: f.w.o.Now(),
		Summary: fmt.Sprintf("CT log %s: %v", f.log.Name, err), Evidence: ev}
	if err := f.w.o.Sink.Emit(ctx, fd); err != nil {
		f.lg.Error("cannot emit finding", "err", err)
	}
}
