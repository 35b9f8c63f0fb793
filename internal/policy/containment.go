package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/vigie/vigie/internal/mailqueue"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
)

const handledKey = "containment-handled"

// containLoop looks in the store for firing compromise alerts of the mail
// watch (rules in containment.rules, subject the SASL account) and
// contains the account, or, with automatic containment off, writes in the
// incident's timeline what the admin should run. Reading the store rather
// than listening to the mail watch keeps the two watches independent and
// works when several vigie nodes share one store.
func (s *Server) containLoop(ctx context.Context) {
	if len(s.cfg.Containment.Rules) == 0 {
		return
	}
	handled := s.loadHandled(ctx)
	tick := time.NewTicker(s.cfg.Containment.PollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := s.containOnce(ctx, handled); err != nil && ctx.Err() == nil {
				s.log.Error("policy: checking compromise alerts", "err", err)
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

func (s *Server) containOnce(ctx context.Context, handled handledSet) error {
	alerts, err := s.st.ListAlerts(ctx, store.AlertQuery{States: []vigie.AlertState{vigie.AlertFiring}, Watch: "mail"})
	if err != nil {
		return err
	}
	rules := map[string]bool{}
	for _, r := range s.cfg.Containment.Rules {
		rules[r] = true
	}
	changed := false
	live := map[string]bool{}
	for _, a := range alerts {
		if !rules[a.Rule] || a.Subject == "" {
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
		s.contain(ctx, a)
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

func (s *Server) contain(ctx context.Context, a vigie.Alert) {
	user := a.Subject
	if !s.cfg.Containment.Automatic {
		text := fmt.Sprintf("automatic containment is off (policy.containment.automatic): to stop account %q, run "+
			"`vigie mail suspend %s` (its new mail is answered %s) and `vigie mail hold --sasl-user %s` (its queued mail is held)",
			user, shellQuote(user), s.cfg.Suspended.Action, shellQuote(user))
		s.st.AddTimeline(ctx, vigie.TimelineEntry{IncidentID: a.IncidentID, Time: s.now().UTC(), Kind: vigie.TimelineNote,
			Actor: "vigie", Text: text, AlertID: a.ID, Data: map[string]string{"account": user, "containment": "advised"}})
		s.m.contained.WithLabelValues("advised").Inc()
		s.log.Warn("policy: compromised account not contained (automatic containment is off)", "account", user, "alert", a.ID)
		return
	}
	reason := fmt.Sprintf("alert %d %s/%s: %s", a.ID, a.Watch, a.Rule, a.Summary)
	if _, err := s.actions.Suspend(ctx, user, reason, a.ID); err != nil {
		s.m.contained.WithLabelValues("error").Inc()
		s.log.Error("policy: suspending a compromised account failed", "account", user, "err", err)
		return
	}
	s.m.contained.WithLabelValues("suspended").Inc()
	s.log.Warn("policy: compromised account suspended", "account", user, "alert", a.ID)
	// the suspension takes effect at once, not at the next refresh
	if err := s.refreshSuspensions(ctx); err != nil {
		s.log.Error("policy: reading suspensions", "err", err)
	}
	if s.cfg.Containment.HoldQueued {
		res, err := s.actions.QueueAction(ctx, mailqueue.Hold, mailqueue.Criteria{SASLUser: user, UID: -1}, false, a.ID)
		if err != nil {
			s.log.Error("policy: holding a compromised account's queued mail failed", "account", user, "err", err)
			return
		}
		s.log.Warn("policy: compromised account's queued mail held", "account", user, "messages", len(res.Messages))
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
