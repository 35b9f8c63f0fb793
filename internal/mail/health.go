package mail

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vigie/vigie/internal/health"
)

// CauseLogStalled: the mail log has not advanced for mail.silent_after
// while Postfix's queue changed: mail flows and vigie does not see it.
const CauseLogStalled health.Cause = "mail-log-stalled"

// CauseLogUnreadable: the mail log is there but vigie may not read it
// (its user is not in the log's group): the mail watch sees nothing.
const CauseLogUnreadable health.Cause = "mail-log-unreadable"

// sight is what the mail watch knows of its own input, for Health.
type sight struct {
	mu          sync.Mutex
	started     time.Time // when the watch (re)started
	lastLine    time.Time // when a log line or journal entry last arrived
	queueSig    string    // the queue ids of the last snapshot
	queueChange time.Time // when the set of queued messages last changed
	queueSeen   int       // snapshots read since start
	unreadable  error     // the last failure to open the log; nil once it opened
	unreadSince time.Time // since when it fails
}

// open notes whether the log could be opened (err nil) or not.
func (s *sight) open(err error, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil && s.unreadable == nil {
		s.unreadSince = now
	}
	s.unreadable = err
}

func (s *sight) start(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.started, s.queueSig, s.queueSeen = now, "", 0
}

func (s *sight) line(now time.Time) {
	s.mu.Lock()
	s.lastLine = now
	s.mu.Unlock()
}

// queue notes a snapshot: Postfix has worked when the queued messages are
// not the ones of the previous snapshot.
func (s *sight) queue(snap QueueSnapshot, now time.Time) {
	ids := make([]string, 0, len(snap.Items))
	for _, it := range snap.Items {
		ids = append(ids, it.QueueID+"/"+it.Queue)
	}
	sort.Strings(ids)
	sig := strings.Join(ids, ",")
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.queueSeen > 0 && sig != s.queueSig {
		s.queueChange = now
	}
	s.queueSig = sig
	s.queueSeen++
}

// Health implements health.Reporter: blind when no line came for
// mail.silent_after while the queue changed after the last line.
func (w *Watch) Health(now time.Time) health.Report {
	s := &w.sight
	s.mu.Lock()
	defer s.mu.Unlock()
	r := health.Report{LastSuccess: s.lastLine}
	if err := s.unreadable; err != nil {
		where := w.o.Config.LogFile
		r.Lag = now.Sub(s.unreadSince).Round(time.Second).String()
		r.Blind = append(r.Blind, health.Blind{Cause: CauseLogUnreadable, Subject: where,
			Summary: "vigie cannot read the mail log, the mail watch is blind: " + health.Unreadable(where, err),
			Evidence: map[string]string{"log": where, "error": err.Error(),
				"since": s.unreadSince.UTC().Format(time.RFC3339)}})
		return r // a stall is this failure's consequence, not another cause
	}
	since := s.lastLine
	if since.Before(s.started) {
		since = s.started
	}
	if since.IsZero() {
		return r
	}
	silent := now.Sub(since)
	if silent >= time.Second {
		r.Lag = silent.Round(time.Second).String()
	}
	limit := w.o.Config.SilentAfter
	if limit <= 0 || silent < limit || !s.queueChange.After(since) {
		return r
	}
	where := w.o.Config.LogFile
	if w.source == "journal" {
		where = "the journal"
	}
	r.Blind = append(r.Blind, health.Blind{Cause: CauseLogStalled, Subject: where,
		Summary: fmt.Sprintf("the mail log (%s) has not advanced for %s while Postfix's queue changed: mail flows and vigie does not see it (rsyslog stopped, the file moved, logrotate without a reload?)",
			where, silent.Round(time.Second)),
		Evidence: map[string]string{"log": where, "silent_for": silent.Round(time.Second).String(),
			"queue_changed": s.queueChange.UTC().Format(time.RFC3339), "silent_after": limit.String()}})
	return r
}

// failing is the current failure to open the log, or nil.
func (s *sight) failing() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unreadable
}
