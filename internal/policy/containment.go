package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/mail"
	"github.com/vigie/vigie/internal/mail/subject"
	"github.com/vigie/vigie/internal/mailqueue"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
)

const handledKey = "containment-handled"

// progressEvery is how often the timeline is told what the gate held
// since a containment, while it holds more.
const progressEvery = 10 * time.Second

// containLoop looks in the store for critical compromise alerts (the mail
// watch's containment.rules, and the policy server's own over-limit once
// critical) and contains their subject, or, with automatic containment
// off, writes in the incident's timeline what the admin should run.
// Warnings never contain. Reading the store rather than listening to the
// mail watch keeps the two watches independent and works when several
// vigie nodes share one store. It also keeps the timeline up to date with
// what the gate holds, and resolves the "contained" alert of a subject
// once it is resumed.
func (s *Server) containLoop(ctx context.Context) {
	handled := s.loadHandled(ctx)
	progress := map[string]int{}
	tick := time.NewTicker(s.cfg.Containment.PollInterval)
	defer tick.Stop()
	var lastProgress time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := s.containOnce(ctx, handled); err != nil && ctx.Err() == nil {
				s.log.Error("policy: checking compromise alerts", "err", err)
			}
			if time.Since(lastProgress) >= progressEvery {
				lastProgress = time.Now()
				s.reportProgress(ctx, progress)
			}
		}
	}
}

// handled remembers which alert firings were dealt with: alert id ->
// first-seen time of the firing, so an alert that resolves and fires again
// is dealt with again.
type handledSet map[string]int64

func (s *Server) loadHandled(ctx context.Context) handledSet {
	h := handledSet{}
	if b, err := s.st.GetState(ctx, StateWatch, handledKey); err == nil {
		json.Unmarshal(b, &h)
	}
	return h
}

// compromise says whether alert a means its subject is compromised.
func (s *Server) compromise(a vigie.Alert) (subject.Subject, bool) {
	if a.Severity != vigie.SeverityCritical || a.Subject == "" {
		return subject.Subject{}, false
	}
	switch {
	case a.Watch == mail.WatchName && slices.Contains(s.cfg.Containment.Rules, a.Rule):
	case a.Watch == WatchName && a.Rule == string(RuleOverLimit):
	default:
		return subject.Subject{}, false
	}
	subj, err := subject.Parse(a.Subject)
	if err != nil || !subj.Account() {
		return subject.Subject{}, false // the whole server is never suspended
	}
	return subj, true
}

func (s *Server) containOnce(ctx context.Context, handled handledSet) error {
	alerts, err := s.st.ListAlerts(ctx, store.AlertQuery{States: []vigie.AlertState{vigie.AlertFiring}})
	if err != nil {
		return err
	}
	changed := false
	live := map[string]bool{}
	suspensions := *s.suspended.Load()
	for _, a := range alerts {
		if a.Watch == WatchName && a.Rule == string(RuleContained) {
			// resumed since: the containment is over
			if subj, err := subject.Parse(a.Subject); err == nil {
				if _, still := suspensions[SuspensionKey(subj)]; !still && s.sink != nil {
					s.sink.Emit(ctx, vigie.Finding{Watch: WatchName, Rule: string(RuleContained), Subject: a.Subject, Time: s.now(),
						Resolved: true, Summary: a.Subject + " is no longer suspended"})
				}
			}
			continue
		}
		subj, ok := s.compromise(a)
		if !ok {
			continue
		}
		id := strconv.FormatInt(a.ID, 10)
		live[id] = true
		if handled[id] == a.FirstSeen.UnixNano() {
			continue
		}
		if a.IncidentID == 0 {
			continue // the pipeline links it to its incident in a moment
		}
		s.contain(ctx, a, subj)
		handled[id] = a.FirstSeen.UnixNano()
		changed = true
	}
	for id := range handled {
		if !live[id] {
			delete(handled, id)
			changed = true
		}
	}
	if changed {
		b, _ := json.Marshal(handled)
		return s.st.PutState(ctx, StateWatch, handledKey, b)
	}
	return nil
}

func (s *Server) note(ctx context.Context, a vigie.Alert, subj subject.Subject, kind vigie.TimelineKind, outcome, text string) {
	s.st.AddTimeline(ctx, vigie.TimelineEntry{IncidentID: a.IncidentID, Time: s.now().UTC(), Kind: kind,
		Actor: "vigie", Text: text, AlertID: a.ID, Data: map[string]string{"subject": subj.String(), "containment": outcome}})
}

func (s *Server) contain(ctx context.Context, a vigie.Alert, subj subject.Subject) {
	flag := SubjectFlag(subj)
	if s.allow[SuspensionKey(subj)] {
		s.note(ctx, a, subj, vigie.TimelineNote, "allowed", fmt.Sprintf(
			"not contained: %s is on policy.allow; to stop it, run `vigie mail suspend %s` and `vigie mail hold %s`", subj, flag, flag))
		s.m.contained.WithLabelValues("allowed").Inc()
		return
	}
	if !s.cfg.Containment.Automatic {
		s.note(ctx, a, subj, vigie.TimelineNote, "advised", fmt.Sprintf(
			"automatic containment is off (policy.containment): to stop %s %s, run `vigie mail suspend %s` (its new mail is held) and `vigie mail hold %s` (its queued mail is held)",
			kindWord(subj), subj, flag, flag))
		s.m.contained.WithLabelValues("advised").Inc()
		s.log.Warn("policy: compromised subject not contained (automatic containment is off)", "subject", subj.String(), "alert", a.ID)
		return
	}
	reason := fmt.Sprintf("alert %d %s/%s: %s", a.ID, a.Watch, a.Rule, a.Summary)
	newly, err := s.actions.Suspend(ctx, subj, reason, a.ID)
	if err != nil {
		s.m.contained.WithLabelValues("error").Inc()
		s.log.Error("policy: suspending a compromised subject failed", "subject", subj.String(), "err", err)
		s.note(ctx, a, subj, vigie.TimelineAction, "failed", fmt.Sprintf("containment of %s FAILED: %v; run `vigie mail suspend %s`", subj, err, flag))
		return
	}
	s.m.contained.WithLabelValues("suspended").Inc()
	s.log.Warn("policy: compromised subject suspended", "subject", subj.String(), "alert", a.ID)
	// the suspension takes effect at once, not at the next refresh
	if err := s.refreshSuspensions(ctx); err != nil {
		s.log.Error("policy: reading suspensions", "err", err)
	}
	var parts []string
	if newly {
		parts = append(parts, fmt.Sprintf("suspended %s %s: its new mail is held", kindWord(subj), subj))
	} else {
		parts = append(parts, fmt.Sprintf("%s was already suspended", subj))
	}
	queued := "its queued mail was not held (policy.containment.hold_queued is off)"
	if !newly {
		// its queued mail was held when it was suspended, and the gate
		// held what came since: what is queued now an admin released
		queued = "its queued mail was held when it was suspended; mail released since stays released"
	} else if s.cfg.Containment.HoldQueued {
		res, err := s.actions.QueueAction(ctx, mailqueue.Hold, CriteriaFor(subj), false, a.ID)
		switch {
		case err != nil:
			s.log.Error("policy: holding a compromised subject's queued mail failed", "subject", subj.String(), "err", err)
			queued = fmt.Sprintf("holding its queued mail FAILED (%v): run `vigie mail hold %s`", err, flag)
		case len(res.Messages) == 0:
			queued = "no queued message of it to hold"
		default:
			queued = fmt.Sprintf("%d queued messages held (queue ids %s)", len(res.Messages), idList(res.Messages, 20))
			if res.Checked {
				queued += fmt.Sprintf(", %d of them in Postfix's hold queue", res.Confirmed)
			}
			s.log.Warn("policy: compromised subject's queued mail held", "subject", subj.String(), "messages", len(res.Messages))
		}
	}
	parts = append(parts, queued)
	undo := fmt.Sprintf("undo: `vigie mail release %s` sends its held mail, `vigie mail resume %s` lets it send again", flag, flag)
	text := "contained after " + a.Watch + "/" + a.Rule + " (critical): " + strings.Join(parts, "; ") + "; " + undo
	s.note(ctx, a, subj, vigie.TimelineAction, "suspended", text)
	if s.sink != nil {
		// the notification of the containment: what vigie did, how to undo it
		f := vigie.Finding{Watch: WatchName, Rule: string(RuleContained), Subject: subj.String(), Severity: vigie.SeverityCritical,
			Time: s.now(), Summary: "vigie " + strings.Join(parts, "; ") + "; " + undo,
			Evidence: map[string]string{"subject": subj.String(), "kind": subj.Kind.String(), "trigger_alert": strconv.FormatInt(a.ID, 10),
				"trigger": a.Watch + "/" + a.Rule, "queued_held": queued,
				"release": "vigie mail release " + flag, "resume": "vigie mail resume " + flag}}
		if err := s.sink.Emit(ctx, f); err != nil && ctx.Err() == nil {
			s.log.Error("policy: emitting the containment finding", "err", err)
		}
	}
}

// reportProgress adds to the timeline of each containment by vigie what
// the gate held since, when it held more: how many, their queue ids, and
// how many of those Postfix's hold queue shows.
func (s *Server) reportProgress(ctx context.Context, reported map[string]int) {
	sus := *s.suspended.Load()
	var queue map[string]string
	for k, sp := range sus {
		if sp.AlertID == 0 {
			continue
		}
		n, ids := s.heldSnapshot(k)
		if n == 0 || n == reported[k] {
			continue
		}
		al, err := s.st.Alert(ctx, sp.AlertID)
		if err != nil || al.IncidentID == 0 {
			continue
		}
		if queue == nil {
			queue = map[string]string{}
			if msgs, err := s.tools.List(ctx); err == nil {
				for _, m := range msgs {
					queue[m.ID] = m.Queue
				}
			}
		}
		inHold := 0
		for _, id := range ids {
			if queue[id] == "hold" {
				inHold++
			}
		}
		shown := ids
		if len(shown) > 20 {
			shown = shown[len(shown)-20:]
		}
		text := fmt.Sprintf("since %s was suspended, vigie's gate held %d new messages of it (last queue ids %s); %d of the last %d are in Postfix's hold queue",
			sp.Name, n, strings.Join(shown, " "), inHold, len(ids))
		if _, err := s.st.AddTimeline(ctx, vigie.TimelineEntry{IncidentID: al.IncidentID, Time: s.now().UTC(), Kind: vigie.TimelineAction,
			Actor: "vigie", Text: text, AlertID: al.ID, Data: map[string]string{"subject": sp.Name, "containment": "held",
				"held": strconv.Itoa(n), "in_hold_queue": strconv.Itoa(inHold)}}); err == nil {
			reported[k] = n
		}
	}
}

// shellQuote quotes a hostile account name for a command line shown to
// the admin, so that copying it runs what it says.
func shellQuote(s string) string {
	safe := s != ""
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '@' || c == '.' || c == '-' || c == '_' || c == '+') {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	out := "'"
	for _, c := range s {
		if c == '\'' {
			out += `'\''`
		} else {
			out += string(c)
		}
	}
	return out + "'"
}
