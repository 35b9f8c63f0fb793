package notify

import (
	"context"
	"strconv"
	"sync"
)

// An Outbox is where one notifier's notifications wait until its receiver
// accepted them. The alert pipeline's is the store (see store.Outbox),
// written in the same transaction as the alert change, so a kill -9
// loses nothing; a dispatcher built without one keeps them in memory.
type Outbox interface {
	// Pending returns up to n waiting notifications, oldest first.
	Pending(ctx context.Context, n int) ([]Notification, error)
	// Done marks notifications delivered ("sent") or given up (the reason).
	Done(ctx context.Context, ns []Notification, result string) error
}

// memOutbox is the Outbox of a dispatcher without a store: bounded, lost
// on a crash.
type memOutbox struct {
	mu     sync.Mutex
	max    int
	prefix string
	seq    int64
	items  []Notification
}

func (m *memOutbox) add(n Notification) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.items) >= m.max {
		return false
	}
	m.seq++
	n.OutboxID = m.seq
	if n.Key == "" {
		n.Key = m.prefix + "-n" + strconv.FormatInt(m.seq, 10)
	}
	m.items = append(m.items, n)
	return true
}

func (m *memOutbox) Pending(_ context.Context, n int) ([]Notification, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Notification(nil), m.items[:min(n, len(m.items))]...), nil
}

func (m *memOutbox) Done(_ context.Context, ns []Notification, _ string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	done := map[int64]bool{}
	for _, n := range ns {
		done[n.OutboxID] = true
	}
	kept := m.items[:0]
	for _, n := range m.items {
		if !done[n.OutboxID] {
			kept = append(kept, n)
		}
	}
	m.items = kept
	return nil
}

// MessageID names a message after the outbox rows it carries: the first
// and, when there are several, the last. The same rows make the same id on
// every retry and after a restart (a batch always starts at the oldest
// waiting row, and rows only join with higher numbers), so a receiver that
// de-duplicates by message id drops a re-send, never a new change.
func MessageID(prefix string, ns []Notification) string {
	if len(ns) == 0 {
		return prefix
	}
	id := prefix + "-" + strconv.FormatInt(ns[0].OutboxID, 10)
	if len(ns) > 1 {
		id += "-" + strconv.FormatInt(ns[len(ns)-1].OutboxID, 10)
	}
	return id
}
