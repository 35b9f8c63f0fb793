package ct

import (
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/vigie/vigie/internal/health"
)

// The CT watch's blind causes.
const (
	// CauseLogBehind: a followed log is more than ct.max_behind entries
	// behind its head.
	CauseLogBehind health.Cause = "ct-log-behind"
	// CauseLogNotPolled: a followed log was not polled successfully for
	// ct.missed_polls intervals (its state does not load, it is down).
	CauseLogNotPolled health.Cause = "ct-log-not-polled"
)

// logSight is what the watch knows of one log it follows.
type logSight struct {
	following bool
	since     time.Time // when this node started following it
	lastPoll  time.Time // last successful poll (caught up with the head)
	progress  time.Time // last entries read while catching up
	head, pos int64
	lastErr   string
}

type sights struct {
	mu   sync.Mutex
	logs map[string]*logSight
}

func (s *sights) get(name string) *logSight {
	if s.logs == nil {
		s.logs = map[string]*logSight{}
	}
	l := s.logs[name]
	if l == nil {
		l = &logSight{}
		s.logs[name] = l
	}
	return l
}

func (w *Watch) noteFollowing(name string, on bool) {
	w.sights.mu.Lock()
	defer w.sights.mu.Unlock()
	l := w.sights.get(name)
	if on && !l.following {
		l.since = w.o.Now()
	}
	l.following = on
}

func (w *Watch) notePoll(name string, head, pos int64) {
	w.sights.mu.Lock()
	defer w.sights.mu.Unlock()
	l := w.sights.get(name)
	l.lastPoll, l.head, l.pos, l.lastErr = w.o.Now(), head, pos, ""
}

// noteHead notes the log's head and this node's position during a poll;
// read says entries were just read (progress).
func (w *Watch) noteHead(name string, head, pos int64, read bool) {
	w.sights.mu.Lock()
	defer w.sights.mu.Unlock()
	l := w.sights.get(name)
	l.head, l.pos = head, pos
	if read {
		l.progress = w.o.Now()
	}
}

func (w *Watch) noteFailure(name string, err error) {
	w.sights.mu.Lock()
	defer w.sights.mu.Unlock()
	w.sights.get(name).lastErr = err.Error()
}

// Health implements health.Reporter for the logs this node follows.
func (w *Watch) Health(now time.Time) health.Report {
	w.sights.mu.Lock()
	defer w.sights.mu.Unlock()
	var r health.Report
	names := make([]string, 0, len(w.sights.logs))
	for n := range w.sights.logs {
		names = append(names, n)
	}
	sort.Strings(names)
	var behind int64
	for _, n := range names {
		l := w.sights.logs[n]
		if !l.following {
			continue
		}
		if l.lastPoll.After(r.LastSuccess) {
			r.LastSuccess = l.lastPoll
		}
		lag := l.head - l.pos
		behind = max(behind, lag)
		if w.o.MaxBehind > 0 && lag > w.o.MaxBehind {
			r.Blind = append(r.Blind, health.Blind{Cause: CauseLogBehind, Subject: n,
				Summary:  fmt.Sprintf("CT log %s is %d entries behind its head: certificates logged since are not seen yet", n, lag),
				Evidence: map[string]string{"log": n, "head": fmt.Sprint(l.head), "position": fmt.Sprint(l.pos), "max_behind": fmt.Sprint(w.o.MaxBehind)}})
		}
		last := l.lastPoll
		if last.Before(l.progress) {
			last = l.progress // reading a backlog: polled, behind
		}
		if last.Before(l.since) {
			last = l.since
		}
		if w.o.MissedPolls > 0 && now.Sub(last) > time.Duration(w.o.MissedPolls)*w.o.PollInterval {
			ev := map[string]string{"log": n, "missed_polls": fmt.Sprint(w.o.MissedPolls)}
			if !l.lastPoll.IsZero() {
				ev["last_poll"] = l.lastPoll.UTC().Format(time.RFC3339)
			}
			if l.lastErr != "" {
				ev["last_error"] = l.lastErr
			}
			r.Blind = append(r.Blind, health.Blind{Cause: CauseLogNotPolled, Subject: n,
				Summary:  fmt.Sprintf("CT log %s has not been polled successfully for %s: certificates for the watched domains go unseen", n, now.Sub(last).Round(time.Second)),
				Evidence: ev})
		}
	}
	if behind > 0 {
		r.Lag = fmt.Sprintf("%d entries", behind)
	}
	return r
}
