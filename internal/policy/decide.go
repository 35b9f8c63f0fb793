package policy

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/mail/subject"
)

const dunno = "DUNNO"

// Decide answers one request. It never blocks on the store: counters and
// suspensions are in memory. Past the decision timeout, before the state
// is loaded, or on an internal error it answers DUNNO and counts why.
func (s *Server) Decide(r *Request) (action, text string) {
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("policy: internal error; answering DUNNO", "panic", fmt.Sprint(p))
			s.m.failOpen["internal-error"].Inc()
			action, text = dunno, ""
		}
		s.m.decision.Observe(time.Since(start).Seconds())
		s.m.answered(action)
	}()
	if !s.ready.Load() {
		s.m.failOpen["not-ready"].Inc()
		return dunno, ""
	}
	if r.Request != "smtpd_access_policy" {
		s.m.badRequests["request"].Inc()
		s.badLog.log(s.log, "policy: request without request=smtpd_access_policy; answering DUNNO", "request", r.Request, "attributes", r.Attributes)
		return dunno, ""
	}
	subj := s.subject(r)
	if subj.IsZero() {
		return dunno, "" // inbound mail from elsewhere: not ours to count
	}
	now := s.now()
	if r.ProtocolState != s.cfg.Stage {
		// other stages only check the suspension (and count nothing)
		if s.isSuspended(SuspensionKey(subj)) {
			return s.cfg.Suspended.Action, s.cfg.Suspended.Text
		}
		if s.otherStage.CompareAndSwap(false, true) {
			s.log.Warn("policy: a request at another stage than policy.stage is answered DUNNO and not counted; "+
				"if Postfix asks vigie only at this stage, nothing is counted: check `vigie postfix-config`",
				"protocol_state", r.ProtocolState, "stage", s.cfg.Stage)
		}
		return dunno, ""
	}
	g := s.count(subj, r.RecipientCount, r.QueueID, now, start.Add(s.cfg.DecisionTimeout).UnixNano())
	switch g.outcome {
	case suspended:
		a := s.cfg.Suspended
		if a.Action == "HOLD" {
			s.record(r, now)
			if g.fresh {
				s.held(subj, r.QueueID, now)
			}
		}
		return a.Action, a.Text
	case over:
		a := s.cfg.OverLimit
		if a.Action == "HOLD" {
			s.record(r, now)
		}
		if !g.fresh {
			return a.Action, a.Text
		}
		s.overLimit(overLimit{subj: subj, verdict: g.verdict, queueID: r.QueueID, client: r.ClientAddress, sender: r.Sender, at: now, action: a.Action})
		return a.Action, a.Text
	}
	s.record(r, now)
	if g.outcome == passed && s.shared != nil && s.shared.stale.Load() {
		// allowed on this node's counts alone: the other nodes' are old
		s.m.failOpen["shared-state"].Inc()
		s.shared.staleAnswers.Add(1)
	}
	return dunno, ""
}

// subject says whom a message is counted for: its SASL account; for
// unauthenticated mail from the permitted networks its client address
// (never its sender: a web app forges a new one per message); for other
// mail nobody.
func (s *Server) subject(r *Request) subject.Subject {
	if r.SASLUsername != "" {
		return subject.SASL(strings.ToLower(r.SASLUsername))
	}
	ip, err := netip.ParseAddr(r.ClientAddress)
	if err != nil || !s.inNets(ip) {
		return subject.Subject{}
	}
	return subject.Client(ip)
}

// record remembers which account queued r's message, for `vigie mail
// hold --sasl-user` later.
func (s *Server) record(r *Request, now time.Time) {
	if r.QueueID == "" {
		return
	}
	s.rec.add(record{id: r.QueueID, minute: now.Unix() / 60,
		owner: recordValue{User: r.SASLUsername, Sender: r.Sender, Client: r.ClientAddress}})
}

// overLimit is one message refused (or held) for a limit, on its way to
// the alert pipeline.
type overLimit struct {
	subj                    subject.Subject
	verdict                 Verdict
	queueID, client, sender string
	at                      time.Time
	action                  string
}

func (o *overLimit) summary(action string) string {
	return fmt.Sprintf("%s %s reached its limit of %d %s per %s; vigie answers %s to its new mail", kindWord(o.subj), o.subj,
		limitOf(o.verdict), o.verdict.What, o.verdict.Limit.Window, action)
}

func limitOf(v Verdict) int {
	if v.What == "recipients" {
		return v.Limit.Recipients
	}
	return v.Limit.Messages
}

func (o *overLimit) evidence(action string) map[string]string {
	return map[string]string{
		"kind": o.subj.Kind.String(), "window": o.verdict.Limit.Window.String(), "limit": strconv.Itoa(limitOf(o.verdict)),
		"counted": o.verdict.What, "in_window": strconv.FormatUint(o.verdict.Count, 10), "action": action,
		"queue_id": o.queueID, "client_address": o.client, "sender": o.sender,
	}
}

func (s *Server) overLimit(o overLimit) {
	select {
	case s.findings <- o:
	default:
		s.m.findingsDropped.Inc()
	}
}
