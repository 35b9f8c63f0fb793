package policy

import (
	"context"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vigie/vigie/internal/mail/subject"
	"github.com/vigie/vigie/internal/milter"
)

// The gate is one decision shared by the two ways Postfix asks vigie: the
// policy server (SMTP mail, at RCPT or END-OF-MESSAGE) and the milter
// (every path, sendmail included). Both call count with the message's
// subject, so they share the limiter's windows and the suspensions in
// memory (the suspensions are read from the store every second; the
// windows are persisted there every second). A message both ask about
// (SMTP mail with both configured) is counted once: the second question
// about a queue id gets the first one's answer.

// outcome is what the gate decided for one message.
type outcome uint8

const (
	passed    outcome = iota // counted, within its limits
	uncounted                // not ours (inbound), allowed, or fail-open
	suspended                // its subject is suspended
	over                     // over a limit
)

type gateResult struct {
	outcome outcome
	verdict Verdict
	// fresh: this question decided; false when it is the second asker's
	// about the same queue id (which must not count it again as held)
	fresh bool
}

// recentAnswers remembers the last answers by queue id, so that a message
// the policy server and the milter both see is counted once. Bounded: a
// ring of ids.
type recentAnswers struct {
	mu   sync.Mutex
	m    map[string]gateResult
	ring []string
	next int
}

const recentSize = 4096

func newRecentAnswers() *recentAnswers {
	return &recentAnswers{m: make(map[string]gateResult, recentSize), ring: make([]string, recentSize)}
}

func (r *recentAnswers) get(id string) (gateResult, bool) {
	if id == "" {
		return gateResult{}, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	g, ok := r.m[id]
	return g, ok
}

func (r *recentAnswers) put(id string, g gateResult) {
	if id == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.m[id]; ok {
		return
	}
	if old := r.ring[r.next]; old != "" {
		delete(r.m, old)
	}
	r.ring[r.next] = id
	r.next = (r.next + 1) % len(r.ring)
	r.m[id] = g
}

// count decides for one message of subj: suspended, over a limit, or
// passed (and counted). queueID de-duplicates the two askers.
func (s *Server) count(subj subject.Subject, rcpts int, queueID string, now time.Time, deadline int64) gateResult {
	if g, ok := s.recent.get(queueID); ok {
		g.fresh = false
		return g
	}
	key := SuspensionKey(subj)
	var g gateResult
	switch {
	case s.isSuspended(key):
		g = gateResult{outcome: suspended}
	case s.allow[key]:
		g = gateResult{outcome: uncounted}
	default:
		v := s.limiter.Take(key, rcpts, now, deadline)
		switch {
		case !v.Locked:
			s.m.failOpen["busy"].Inc()
			return gateResult{outcome: uncounted} // not remembered: nothing was decided
		case v.Uncounted:
			s.m.failOpen["subjects-cap"].Inc()
			g = gateResult{outcome: uncounted}
		case v.Over:
			g = gateResult{outcome: over, verdict: v}
		default:
			g = gateResult{outcome: passed}
		}
	}
	s.recent.put(queueID, g)
	g.fresh = true
	return g
}

func (s *Server) isSuspended(key string) bool {
	_, ok := (*s.suspended.Load())[key]
	return ok
}

// inNets reports whether an unauthenticated client is one of ours.
func (s *Server) inNets(a netip.Addr) bool {
	a = a.Unmap()
	for _, n := range s.nets {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// Check implements milter.Gate: the milter's question about a message at
// its end. Sendmail mail is always held, never refused (a refusal would
// bounce it); SMTP mail over a limit gets the over_limit answer, held for
// HOLD, REJECT and DISCARD (vigie never bounces nor deletes), 4xx for the
// DEFERs.
func (s *Server) Check(ctx context.Context, m *milter.Message) (d milter.Decision) {
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("policy: internal error in the milter gate; accepting", "panic", p)
			s.m.failOpen["internal-error"].Inc()
			d = milter.Decision{}
		}
		s.m.milterAnswers.WithLabelValues(m.Path.String(), d.Verdict.String()).Inc()
		s.m.decision.Observe(time.Since(start).Seconds())
	}()
	if !s.ready.Load() {
		s.m.failOpen["not-ready"].Inc()
		return milter.Decision{}
	}
	var subj subject.Subject
	switch {
	case m.SASLUser != "":
		subj = subject.SASL(strings.ToLower(m.SASLUser))
	case m.Path == milter.PathLocal && m.UID >= 0:
		subj = subject.UID(m.UID)
	case m.Path == milter.PathSMTP && m.Client.IsValid() && s.inNets(m.Client):
		subj = subject.Client(m.Client)
	}
	if subj.IsZero() {
		if m.Path == milter.PathLocal {
			s.m.failOpen["unknown-uid"].Inc()
		}
		return milter.Decision{} // inbound mail, or a local uid vigie could not read
	}
	now := s.now()
	g := s.count(subj, m.Recipients, m.QueueID, now, start.Add(s.cfg.DecisionTimeout).UnixNano())
	client := ""
	if m.Client.IsValid() {
		client = m.Client.String()
	}
	uid := ""
	if m.UID >= 0 {
		uid = strconv.Itoa(m.UID)
	}
	if m.QueueID != "" {
		s.rec.add(record{id: m.QueueID, minute: now.Unix() / 60,
			owner: recordValue{User: m.SASLUser, Sender: m.Sender, Client: client, UID: uid}})
	}
	switch g.outcome {
	case suspended:
		if g.fresh {
			s.held(subj, m.QueueID, now)
		}
		return milter.Decision{Verdict: milter.Hold, Reason: "vigie: " + subj.String() + " is suspended"}
	case over:
		action := s.cfg.OverLimit.Action
		if !g.fresh {
			return s.overDecision(m.Path, action, subj)
		}
		s.overLimit(overLimit{subj: subj, verdict: g.verdict, queueID: m.QueueID, client: client, sender: m.Sender, at: now, action: action})
		return s.overDecision(m.Path, action, subj)
	}
	return milter.Decision{}
}

func (s *Server) overDecision(p milter.Path, action string, subj subject.Subject) milter.Decision {
	if p == milter.PathSMTP && (action == "DEFER_IF_PERMIT" || action == "DEFER") {
		return milter.Decision{Verdict: milter.TempFail, Reason: s.cfg.OverLimit.Text}
	}
	return milter.Decision{Verdict: milter.Hold, Reason: "vigie: " + subj.String() + " is over its sending limit"}
}

// heldLog is what the gate held of each suspended subject since vigie
// started, for the timeline: how many, and the last queue ids.
type heldLog struct {
	mu sync.Mutex
	m  map[string]*heldCount
}

type heldCount struct {
	n    int
	ids  []string // the last maxHeldIDs
	last time.Time
}

const maxHeldIDs = 50

func (s *Server) held(subj subject.Subject, queueID string, now time.Time) {
	k := SuspensionKey(subj)
	s.heldBy.mu.Lock()
	defer s.heldBy.mu.Unlock()
	h := s.heldBy.m[k]
	if h == nil {
		h = &heldCount{}
		s.heldBy.m[k] = h
	}
	h.n++
	h.last = now
	if queueID != "" {
		if len(h.ids) == maxHeldIDs {
			copy(h.ids, h.ids[1:])
			h.ids = h.ids[:maxHeldIDs-1]
		}
		h.ids = append(h.ids, queueID)
	}
}

// heldSnapshot returns what was held of the subject with key k.
func (s *Server) heldSnapshot(k string) (n int, ids []string) {
	s.heldBy.mu.Lock()
	defer s.heldBy.mu.Unlock()
	if h := s.heldBy.m[k]; h != nil {
		return h.n, append([]string(nil), h.ids...)
	}
	return 0, nil
}
