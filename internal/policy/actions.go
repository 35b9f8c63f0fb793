package policy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

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

// Suspend suspends name (a SASL account). It reports false if it already
// was. alertID links the suspension to the alert that caused it (0: none).
func (a *Actions) Suspend(ctx context.Context, name, reason string, alertID int64) (bool, error) {
	if strings.TrimSpace(name) == "" {
		return false, errors.New("suspend: empty account name")
	}
	unlock, err := a.lockSuspensions(ctx)
	if err != nil {
		return false, fmt.Errorf("suspend %q: %w", name, err)
	}
	defer unlock()
	m, err := LoadSuspensions(ctx, a.Store)
	if err != nil {
		return false, fmt.Errorf("suspend %q: %w", name, err)
	}
	k := suspensionKey(name)
	if _, ok := m[k]; ok {
		return false, nil
	}
	m[k] = Suspension{Name: name, By: a.Actor, At: a.now(), Reason: reason, AlertID: alertID}
	err = saveSuspensions(ctx, a.Store, m)
	rerr := a.record(ctx, "mail.suspend", name, reason, err, alertID, fmt.Sprintf("%s suspended account %q: every new message is answered with the suspended action (%s)", a.Actor, name, reason))
	if err != nil {
		return false, fmt.Errorf("suspend %q: %w", name, err)
	}
	return true, rerr
}

// Resume lifts a suspension. It reports false if name was not suspended.
// Mail held meanwhile stays held until released.
func (a *Actions) Resume(ctx context.Context, name string) (bool, error) {
	unlock, err := a.lockSuspensions(ctx)
	if err != nil {
		return false, fmt.Errorf("resume %q: %w", name, err)
	}
	defer unlock()
	m, err := LoadSuspensions(ctx, a.Store)
	if err != nil {
		return false, fmt.Errorf("resume %q: %w", name, err)
	}
	k := suspensionKey(name)
	if _, ok := m[k]; !ok {
		return false, nil
	}
	delete(m, k)
	err = saveSuspensions(ctx, a.Store, m)
	rerr := a.record(ctx, "mail.resume", name, "", err, 0, fmt.Sprintf("%s resumed account %q; its held mail stays held until `vigie mail release --sasl-user`", a.Actor, name))
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
	detail := fmt.Sprintf("%s: %d messages", c, len(msgs))
	if len(msgs) > 0 {
		detail += " (" + idList(msgs, 20) + ")"
	}
	rerr := a.record(ctx, "mail."+string(op), c.String(), detail, err, alertID,
		fmt.Sprintf("%s: %s %d queued messages of %s", a.Actor, pastTense(op), len(msgs), c))
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
func (a *Actions) record(ctx context.Context, action, target, detail string, actErr error, alertID int64, text string) error {
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
	for _, id := range a.incidentsAbout(ctx, target, alertID) {
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
// those of active alerts whose subject is the target account or sender.
func (a *Actions) incidentsAbout(ctx context.Context, target string, alertID int64) []int64 {
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
	// targets are "alice", "sasl_user=alice", "sender=a@b" or "uid=33";
	// alerts name the account, the address or the uid alone
	name := target
	for _, p := range []string{"sasl_user=", "sender=", "uid="} {
		if v, ok := strings.CutPrefix(target, p); ok {
			name = v
		}
	}
	alerts, err := a.Store.ListAlerts(ctx, store.AlertQuery{States: []vigie.AlertState{vigie.AlertFiring, vigie.AlertAcknowledged}})
	if err != nil {
		return out
	}
	for _, al := range alerts {
		if strings.EqualFold(al.Subject, name) || strings.EqualFold(al.Subject, target) {
			add(al.IncidentID)
		}
	}
	return out
}
