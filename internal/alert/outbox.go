package alert

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"github.com/vigie/vigie/internal/notify"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
)

// outboxPayload is a notification as the outbox keeps it. The incident is
// not kept: it is read when the message is built, so that a notification
// sent after a restart carries the incident as it is then.
type outboxPayload struct {
	Change notify.Change `json:"change"`
	Alert  vigie.Alert   `json:"alert"`
	Time   time.Time     `json:"time"`
}

// outboxItems returns, for an alert change, one outbox item per notifier
// whose routes take the alert; the store writes them with the change.
func (p *Pipeline) outboxItems(c change, at time.Time) func(a vigie.Alert) []store.OutboxItem {
	return func(a vigie.Alert) []store.OutboxItem {
		var out []store.OutboxItem
		var payload []byte
		for _, d := range p.dispatchers {
			if !d.accept(&a) {
				continue
			}
			if payload == nil {
				payload, _ = json.Marshal(outboxPayload{Change: c, Alert: a, Time: at}) // plain data: always marshals
			}
			out = append(out, store.OutboxItem{Node: p.o.Node, Notifier: d.Name(), Key: newKey(),
				Created: p.o.Now().UTC(), Payload: payload})
		}
		return out
	}
}

// newKey is a notification's idempotency key: random, so that keys never
// repeat, even across a new database.
func newKey() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// storeOutbox is one notifier's view of the store's outbox.
type storeOutbox struct {
	p        *Pipeline
	notifier string
}

// Pending implements notify.Outbox: the waiting rows, decoded, each with
// its alert's incident as it is now. A row that cannot be decoded (written
// by another version) is given up rather than blocking the others.
func (o storeOutbox) Pending(ctx context.Context, n int) ([]notify.Notification, error) {
	// An Emit in progress has written its row but may not have decided the
	// alert's incident yet: wait for it, so the message names the incident.
	o.p.mu.Lock()
	defer o.p.mu.Unlock()
	s := o.p.o.Store
	items, err := s.PendingOutbox(ctx, o.p.o.Node, o.notifier, n)
	if err != nil {
		return nil, err
	}
	out := make([]notify.Notification, 0, len(items))
	incidents := map[int64]vigie.Incident{}
	briefs := map[int64]*notify.Brief{}
	var bad []int64
	for _, it := range items {
		var pl outboxPayload
		if err := json.Unmarshal(it.Payload, &pl); err != nil {
			o.p.log.Error("an outbox row cannot be decoded; giving it up", "notifier", o.notifier, "id", it.ID, "err", err)
			bad = append(bad, it.ID)
			continue
		}
		nt := notify.Notification{OutboxID: it.ID, Key: it.Key, Change: pl.Change, Alert: pl.Alert, Time: pl.Time}
		// A new alert's incident is decided after the alert was saved: read it now.
		if nt.Alert.IncidentID == 0 {
			if cur, err := s.Alert(ctx, pl.Alert.ID); err == nil {
				nt.Alert.IncidentID = cur.IncidentID
			} else if !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
		}
		if id := nt.Alert.IncidentID; id != 0 {
			in, ok := incidents[id]
			if !ok {
				var err error
				in, err = s.Incident(ctx, id)
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					return nil, err
				}
				incidents[id] = in
				briefs[id] = o.p.brief(ctx, in)
			}
			nt.Incident, nt.Brief = in, briefs[id]
		}
		out = append(out, nt)
	}
	if len(bad) > 0 {
		if err := s.FinishOutbox(ctx, bad, o.p.o.Now().UTC(), "undecodable"); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Done implements notify.Outbox.
func (o storeOutbox) Done(ctx context.Context, ns []notify.Notification, result string) error {
	ids := make([]int64, len(ns))
	for i, n := range ns {
		ids[i] = n.OutboxID
	}
	return o.p.o.Store.FinishOutbox(ctx, ids, o.p.o.Now().UTC(), result)
}

// brief tells incident in for a message, once per message and incident;
// a failure leaves the message without it (the changes still go out).
func (p *Pipeline) brief(ctx context.Context, in vigie.Incident) *notify.Brief {
	if p.o.Brief == nil || in.ID == 0 {
		return nil
	}
	b, err := p.o.Brief(ctx, in)
	if err != nil {
		p.log.Warn("the notification of an incident goes out without its summary", "incident", in.ID, "err", err)
		return nil
	}
	return b
}
