// Package notify defines how alerts leave vigie. Each kind of notifier is a
// sub-package implementing Notifier; this package holds what they share:
// the message, the error classes that decide retries, the text rendering
// and the Dispatcher that batches, rate-limits and retries for one
// notifier.
package notify

import (
	"context"
	"sort"
	"time"

	"github.com/vigie/vigie/internal/vigie"
)

// Change is what happened to an alert.
type Change string

const (
	Fired     Change = "fired"     // a new alert
	Refired   Change = "refired"   // a resolved alert came back
	Escalated Change = "escalated" // its severity rose
	Resolved  Change = "resolved"
)

// A Notification tells about one alert change. The alert and incident are
// already persisted when it is sent.
type Notification struct {
	// OutboxID is the notification's row in the store's outbox (0 when
	// it is held in memory only).
	OutboxID int64 `json:"-"`
	// Key is the notification's idempotency key: the same on every try
	// and after a restart, so a receiver can drop one it already had.
	Key      string `json:"-"`
	Change   Change
	Alert    vigie.Alert
	Incident vigie.Incident // zero when the alert has none
	// Brief tells the incident to a person: what happened, what vigie
	// did, what to do next, where to look. Nil when there is no incident
	// or nothing could be said (a message then lists the changes only).
	Brief *Brief
	Time  time.Time
}

// A Message is what one notifier sends at once: every notification that
// arrived while it waited (a storm of 751 findings is one message, not
// 751). Its ID is derived from its notifications' keys: it stays the same
// across retries and, for the same notifications, across restarts, so
// receivers that de-duplicate (Matrix transaction ids, the webhook's
// Idempotency-Key) see one message.
type Message struct {
	ID            string
	Time          time.Time
	Notifications []Notification
}

// Notifier delivers messages somewhere people read them.
type Notifier interface {
	// Name identifies the notifier in logs, metrics and timelines.
	Name() string
	// Notify delivers one message. It must honour ctx. An error wrapped by
	// Permanent is not retried; a RetryAfterError says when to retry.
	Notify(ctx context.Context, m *Message) error
}

// A Refresher is a notifier whose receiver forgets alerts that are not
// sent again (Alertmanager ends an alert at its endsAt). The pipeline
// calls Refresh every check interval with every active alert.
type Refresher interface {
	Notifier
	Refresh(ctx context.Context, active []vigie.Alert) error
}

// IncidentGroup is the part of a message about one incident.
type IncidentGroup struct {
	Incident      vigie.Incident // zero for alerts without an incident
	Brief         *Brief         // the freshest of its notifications'
	Notifications []Notification
}

// Brief is an incident told in four lines, as the incident report tells
// it when the message is built (internal/incident).
type Brief struct {
	Headline string // what happened, in one line: "751 domains in 34 TLDs moved to ns1.rogue-dns.example"
	Did      string // what vigie did: "held 412 messages of alice@example.org", or that it did nothing
	Next     string // the next step of the response checklist, with its command
	URL      string // the incident's dashboard page (http.external_url)
}

// Groups splits a message by incident, in incident order, each group's
// notifications in arrival order.
func (m *Message) Groups() []IncidentGroup {
	idx := map[int64]int{}
	var out []IncidentGroup
	for _, n := range m.Notifications {
		id := n.Alert.IncidentID
		i, ok := idx[id]
		if !ok {
			i = len(out)
			idx[id] = i
			out = append(out, IncidentGroup{Incident: n.Incident})
		}
		// The latest notification carries the freshest incident state.
		if n.Incident.ID != 0 {
			out[i].Incident = n.Incident
		}
		if n.Brief != nil {
			out[i].Brief = n.Brief
		}
		out[i].Notifications = append(out[i].Notifications, n)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Incident.ID < out[j].Incident.ID })
	return out
}

// MaxSeverity is the highest severity among the message's alerts.
func (m *Message) MaxSeverity() vigie.Severity {
	var s vigie.Severity
	for _, n := range m.Notifications {
		if n.Alert.Severity > s {
			s = n.Alert.Severity
		}
	}
	return s
}

// AllResolved reports whether every notification is a resolution.
func (m *Message) AllResolved() bool {
	for _, n := range m.Notifications {
		if n.Change != Resolved {
			return false
		}
	}
	return len(m.Notifications) > 0
}
