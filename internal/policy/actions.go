package policy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/mail/subject"
	"github.com/vigie/vigie/internal/mailqueue"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
)

// Actions is the one audited path for what vigie or an admin does to an
// account: suspend, resume, and hold, release or purge its queued mail.
// Each action is written to the audit log and to the timeline of every
// open incident about the account.
type Actions struct {
	Store store.Store
	Queue *mailqueue.Tools
	// Index finds the owners of queued messages (SASL account, uid).
	Index mailqueue.OwnerIndex
	Now   func() time.Time
	// Actor is who acts: "vigie" or the admin's name.
	Actor string
}

func (a *Actions) now() time.Time {
	if a.Now != nil {
		return a.Now().UTC()
	}
	return time.Now().UTC()
}

// Suspend suspends a subject: the gate holds its new mail. It reports
// false if it already was. alertID links the suspension to the alert that
// caused it (0: none). The whole server is not a subject one can suspend.
func (a *Actions) Suspend(ctx context.Context, subj subject.Subject, reason string, alertID int64) (bool, error) {
	if !subj.Account() || subj.Kind == subject.KindSASL && strings.TrimSpace(subj.User) == "" {
		return false, fmt.Errorf("suspend: %q is not an account, a uid or a client", subj.String())
	}
	name := subj.Key().String()
	unlock, err := a.lockSuspensions(ctx)
	if err != nil {
		return false, fmt.Errorf("suspend %q: %w", name, err)
	}
	defer unlock()
	m, err := LoadSuspensions(ctx, a.Store)
	if err != nil {
		return false, fmt.Errorf("suspend %q: %w", name, err)
	}
	k := SuspensionKey(subj)
	if _, ok := m[k]; ok {
		return false, nil
	}
	m[k] = Suspension{Name: name, By: a.Actor, At: a.now(), Reason: reason, AlertID: alertID}
	err = saveSuspensions(ctx, a.Store, m)
	rerr := a.record(ctx, "mail.suspend", name, name, reason, err, alertID,
		fmt.Sprintf("%s suspended %s %q: vigie holds every new message of it (%s); undo: `vigie mail resume %s`", a.Actor, kindWord(subj), name, reason, SubjectFlag(subj)))
	if err != nil {
		return false, fmt.Errorf("suspend %q: %w", name, err)
	}
	return true, rerr
}

// kindWord names a subject's kind in a sentence.
func kindWord(s subject.Subject) string {
	switch s.Kind {
	case subject.KindUID:
		return "local user"
	case subject.KindClient:
		return "SMTP client"
	}
	return "account"
}

// Resume lifts a suspension. It reports false if subj was not suspended.
// Mail held meanwhile stays held until released.
func (a *Actions) Resume(ctx context.Context, subj subject.Subject) (bool, error) {
	name := subj.Key().String()
	unlock, err := a.lockSuspensions(ctx)
	if err != nil {
		return false, fmt.Errorf("resume %q: %w", name, err)
	}
	defer unlock()
	m, err := LoadSuspensions(ctx, a.Store)
	if err != nil {
		return false, fmt.Errorf("resume %q: %w", name, err)
	}
	k := SuspensionKey(subj)
	if _, ok := m[k]; !ok {
		return false, nil
	}
	delete(m, k)
	err = saveSuspensions(ctx, a.Store, m)
	rerr := a.record(ctx, "mail.resume", name, name, "", err, 0, fmt.Sprintf("%s resumed %s %q; its held mail stays held until `vigie mail release %s`", a.Actor, kindWord(subj), name, SubjectFlag(subj)))
	if err != nil {
		return false, fmt.Errorf("resume %q: %w", name, err)
	}
	return true, rerr
}

// lockSuspensions makes a suspension or resumption, which reads and
// rewrites the one suspensions record, exclusive across nodes when the
// store is shared (store.Locker): two admins or two nodes suspending two
// accounts at once must not lose one of them.
func (a *Actions) lockSuspensions(ctx context.Context) (func(), error) {
	if l, ok := a.Store.(store.Locker); ok {
		return l.Lock(ctx, "policy/suspensions")
	}
	return func() {}, nil
}

// QueueResult is what a queue action found and did.
type QueueResult struct {
	Op       mailqueue.Op
	Criteria mailqueue.Criteria
	Messages []mailqueue.Message
	DryRun   bool
	// Confirmed is how many of Messages Postfix's queue (postqueue -j)
	// showed in the state op put them in, read right after it (Checked:
	// the queue could be read).
	Confirmed int
	Checked   bool
}

// confirm reads the queue back: how many of msgs are now where op puts
// them (held: in the hold queue; released: out of it; purged: gone), as
// Postfix reports it rather than as vigie asked.
func (a *Actions) confirm(ctx context.Context, op mailqueue.Op, msgs []mailqueue.Message) (int, bool) {
	now, err := a.Queue.List(ctx)
	if err != nil {
		return 0, false
	}
	where := map[string]string{}
	for _, m := range now {
		where[m.ID] = m.Queue
	}
	n := 0
	for _, m := range msgs {
		q, present := where[m.ID]
		switch {
		case op == mailqueue.Hold && q == "hold",
			op == mailqueue.Release && (!present || q != "hold"),
			op == mailqueue.Purge && !present:
			n++
		}
	}
	return n, true
}

func confirmWord(op mailqueue.Op) string {
	switch op {
	case mailqueue.Hold:
		return "in the hold queue"
	case mailqueue.Release:
		return "out of the hold queue"
	}
	return "gone"
}

// criteriaSubject is the subject string form of queue criteria (alerts
// name subjects that way); for a sender, "sender=ADDRESS": no subject.
func criteriaSubject(c mailqueue.Criteria) string {
	switch {
	case c.SASLUser != "":
		return subject.SASL(c.SASLUser).String()
	case c.Client.IsValid():
		return subject.Client(c.Client).String()
	case c.UID >= 0:
		return subject.UID(c.UID).String()
	}
	return "sender=" + c.Sender
}

// Find lists the queued messages op would act on.
func (a *Actions) Find(ctx context.Context, op mailqueue.Op, c mailqueue.Criteria) ([]mailqueue.Message, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	msgs, err := a.Queue.List(ctx)
	if err != nil {
		return nil, err
	}
	return mailqueue.Select(ctx, msgs, c, op, a.Index)
}

// QueueAction holds, releases or purges the queued messages of c. With
// dryRun it only lists them (and audits nothing). alertID links it to an
// alert (0: none).
func (a *Actions) QueueAction(ctx context.Context, op mailqueue.Op, c mailqueue.Criteria, dryRun bool, alertID int64) (QueueResult, error) {
	res := QueueResult{Op: op, Criteria: c, DryRun: dryRun}
	msgs, err := a.Find(ctx, op, c)
	if err != nil {
		return res, fmt.Errorf("mail %s %s: %w", op, c, err)
	}
	res.Messages = msgs
	if dryRun {
		return res, nil
	}
	err = a.Queue.Apply(ctx, op, mailqueue.IDs(msgs))
	if err == nil && len(msgs) > 0 {
		res.Confirmed, res.Checked = a.confirm(ctx, op, msgs)
	}
	detail := fmt.Sprintf("%s: %d messages", c, len(msgs))
	if len(msgs) > 0 {
		detail += " (" + idList(msgs, 20) + ")"
	}
	text := fmt.Sprintf("%s: %s %d queued messages of %s", a.Actor, pastTense(op), len(msgs), c)
	if len(msgs) > 0 {
		text += " (queue ids " + idList(msgs, 20) + ")"
		if res.Checked {
			text += fmt.Sprintf("; Postfix's queue then showed %d of them %s", res.Confirmed, confirmWord(op))
		}
	}
	// the target is the subject's string form, as in alerts and
	// suspensions, so that an incident's checklist finds it
	rerr := a.record(ctx, "mail."+string(op), criteriaSubject(c), criteriaSubject(c), detail, err, alertID, text)
	if err != nil {
		return res, fmt.Errorf("mail %s %s: %w", op, c, err)
	}
	return res, rerr
}

func pastTense(op mailqueue.Op) string {
	switch op {
	case mailqueue.Hold:
		return "held"
	case mailqueue.Release:
		return "released"
	case mailqueue.Purge:
		return "purged"
	}
	return string(op)
}

func idList(msgs []mailqueue.Message, n int) string {
	var ids []string
	for i, m := range msgs {
		if i == n {
			ids = append(ids, fmt.Sprintf("and %d more", len(msgs)-n))
			break
		}
		ids = append(ids, m.ID)
	}
	return strings.Join(ids, " ")
}

// record writes the audit entry and the timeline entries of an action.
// Failing to record does not undo the action: the error says it was done
// but not recorded.
func (a *Actions) record(ctx context.Context, action, target, subj, detail string, actErr error, alertID int64, text string) error {
	result := "ok"
	if actErr != nil {
		result = actErr.Error()
		text += " -- FAILED: " + actErr.Error()
	}
	now := a.now()
	var errs []error
	if _, err := a.Store.AddAudit(ctx, vigie.AuditEntry{Time: now, Actor: a.Actor, Action: action, Target: target, Detail: detail, Result: result}); err != nil {
		errs = append(errs, err)
	}
	for _, id := range a.incidentsAbout(ctx, subj, alertID) {
		_, err := a.Store.AddTimeline(ctx, vigie.TimelineEntry{IncidentID: id, Time: now, Kind: vigie.TimelineAction, Actor: a.Actor,
			Text: text, AlertID: alertID, Data: map[string]string{"action": action, "target": target, "result": result}})
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s %s was done but not fully recorded: %w", action, target, err)
	}
	return nil
}

// incidentsAbout returns the open incidents concerned: the alert's, and
// those of active alerts whose subject is subj (a subject's string form,
// or a sender address).
func (a *Actions) incidentsAbout(ctx context.Context, subj string, alertID int64) []int64 {
	seen := map[int64]bool{}
	var out []int64
	add := func(id int64) {
		if id != 0 && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	if alertID != 0 {
		if al, err := a.Store.Alert(ctx, alertID); err == nil {
			add(al.IncidentID)
		}
	}
	if subj == "" {
		return out
	}
	alerts, err := a.Store.ListAlerts(ctx, store.AlertQuery{States: []vigie.AlertState{vigie.AlertFiring, vigie.AlertAcknowledged}})
	if err != nil {
		return out
	}
	for _, al := range alerts {
		if strings.EqualFold(al.Subject, subj) {
			add(al.IncidentID)
		}
	}
	return out
}
