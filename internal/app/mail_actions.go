package app

import (
	"context"
	"errors"
	"sort"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/mail"
	"github.com/vigie/vigie/internal/mail/subject"
	"github.com/vigie/vigie/internal/mailqueue"
	"github.com/vigie/vigie/internal/policy"
	"github.com/vigie/vigie/internal/store"
)

// mailActions is the dashboard's hold and release: the policy server's
// audited actions (suspend + hold the queue; resume + release), acting as
// the dashboard user.
type mailActions struct {
	store store.Store
	tools *mailqueue.Tools
	index mailqueue.OwnerIndex
}

func newMailActions(cfg *config.Config, st store.Store) *mailActions {
	tools := policy.ToolsFor(&cfg.Policy.Postfix)
	return &mailActions{store: st, tools: tools, index: policy.OwnerIndex(st, tools, mail.LogOwners{Config: cfg.Mail})}
}

func (m *mailActions) as(actor string) *policy.Actions {
	return &policy.Actions{Store: m.store, Queue: m.tools, Index: m.index, Actor: actor}
}

// Hold suspends the subject (account is its string form: a SASL account,
// uid:N or client:ADDRESS; its new mail is held by the gate) and holds
// what it already queued.
func (m *mailActions) Hold(ctx context.Context, actor, account string, alertID int64) error {
	subj, err := subject.Parse(account)
	if err != nil {
		return err
	}
	a := m.as(actor)
	_, serr := a.Suspend(ctx, subj, "held from the dashboard", alertID)
	_, qerr := a.QueueAction(ctx, mailqueue.Hold, policy.CriteriaFor(subj), false, alertID)
	return errors.Join(serr, qerr)
}

// Release lifts the suspension and releases the subject's held mail: the
// one button that undoes a containment.
func (m *mailActions) Release(ctx context.Context, actor, account string, alertID int64) error {
	subj, err := subject.Parse(account)
	if err != nil {
		return err
	}
	a := m.as(actor)
	_, rerr := a.Resume(ctx, subj)
	res, qerr := a.QueueAction(ctx, mailqueue.Release, policy.CriteriaFor(subj), false, alertID)
	if qerr == nil && len(res.Messages) > 0 {
		qerr = m.tools.Flush(ctx)
	}
	return errors.Join(rerr, qerr)
}

// Held lists the suspended accounts.
func (m *mailActions) Held(ctx context.Context) ([]string, error) {
	s, err := policy.LoadSuspensions(ctx, m.store)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(s))
	for _, v := range s {
		out = append(out, v.Name)
	}
	sort.Strings(out)
	return out, nil
}
