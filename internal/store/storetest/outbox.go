package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
)

// testOutbox: an alert change and its outbox items commit together (or not
// at all), pending items come back oldest first per node and notifier,
// survive a reopen, and finished ones are never pending again.
func testOutbox(t *testing.T, newStore New) {
	ctx := context.Background()
	s, reopen := newStore(t)
	items := func(a vigie.Alert) []store.OutboxItem {
		var out []store.OutboxItem
		for _, n := range []string{"hook", "mail"} {
			out = append(out, store.OutboxItem{Node: "n1", Notifier: n, Key: fmt.Sprintf("%s-%d-%d", n, a.ID, a.Count),
				Created: base, Payload: []byte(fmt.Sprintf(`{"alert":%d,"count":%d,"x":"\u0000<é>"}`, a.ID, a.Count))})
		}
		return out
	}
	var last vigie.Alert
	for i := 0; i < 3; i++ {
		a, err := s.UpdateAlertNotify(ctx, "k1", func(a *vigie.Alert) error {
			a.Watch, a.Rule, a.Subject, a.State, a.Count = "mail", "r", "s", vigie.AlertFiring, a.Count+1
			a.FirstSeen, a.LastSeen = base, base
			return nil
		}, items)
		if err != nil {
			t.Fatal(err)
		}
		last = a
	}
	// A refused change adds nothing.
	boom := errors.New("boom")
	if _, err := s.UpdateAlertNotify(ctx, "k1", func(a *vigie.Alert) error { return boom }, items); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	// Another node's items are not ours.
	if err := s.AddOutbox(ctx, []store.OutboxItem{{Node: "n2", Notifier: "hook", Key: "other", Created: base, Payload: []byte("{}")}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.PendingOutbox(ctx, "n1", "hook", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("pending for n1/hook: %d, want 3", len(got))
	}
	for i, it := range got {
		want := fmt.Sprintf("hook-%d-%d", last.ID, i+1)
		if it.Key != want || it.Node != "n1" || it.Notifier != "hook" || !it.Created.Equal(base) {
			t.Errorf("item %d = %+v, want key %s", i, it, want)
		}
		if i > 0 && it.ID <= got[i-1].ID {
			t.Errorf("items not oldest first: %d after %d", it.ID, got[i-1].ID)
		}
	}
	if string(got[0].Payload) != fmt.Sprintf(`{"alert":%d,"count":1,"x":"\u0000<é>"}`, last.ID) {
		t.Errorf("payload = %q", got[0].Payload)
	}
	if lim, _ := s.PendingOutbox(ctx, "n1", "hook", 2); len(lim) != 2 {
		t.Errorf("limit 2 gave %d", len(lim))
	}
	if err := s.FinishOutbox(ctx, []int64{got[0].ID, got[1].ID}, base.Add(time.Minute), "sent"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddOutbox(ctx, []store.OutboxItem{{Node: "n1", Notifier: "hook", Key: "hook-1-1", Created: base, Payload: []byte("{}")}}); err == nil {
		t.Error("a key added twice was accepted")
	}

	// After a restart the waiting items are still there.
	s.Close()
	s = reopen()
	defer s.Close()
	left, err := s.PendingOutbox(ctx, "n1", "hook", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0].ID != got[2].ID {
		t.Fatalf("pending after finishing two and a reopen: %+v", left)
	}
	if m, _ := s.PendingOutbox(ctx, "n1", "mail", 0); len(m) != 3 {
		t.Errorf("the mail notifier's items: %d, want 3", len(m))
	}
	n, err := s.DeleteOutboxBefore(ctx, base.Add(2*time.Minute))
	if err != nil || n != 2 {
		t.Errorf("deleted %d (%v), want the 2 finished", n, err)
	}
	if left, _ := s.PendingOutbox(ctx, "n1", "hook", 0); len(left) != 1 {
		t.Errorf("deleting finished items touched a pending one: %d left", len(left))
	}
}
