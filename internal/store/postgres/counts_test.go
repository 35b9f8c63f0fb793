package postgres

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/store"
)

// TestSharedCounters: each node's slots are absolute and its own; a node
// reads the others' written since its last read; old slots are dropped;
// appended state keeps every node's lines.
func TestSharedCounters(t *testing.T) {
	db := openDSN(t, pg.Database(t), Options{})
	defer db.Close()
	ctx := context.Background()
	exp := time.Now().Add(time.Minute)
	hostile := "sasl:\xff\x00évil\n@example.org"
	put := func(node string, slot int64, msgs uint32) {
		t.Helper()
		if err := db.PutCounts(ctx, node, []store.CountSlot{{Subject: hostile, Window: time.Minute, Slot: slot,
			Messages: msgs, Recipients: 2 * msgs, Expires: exp}}); err != nil {
			t.Fatal(err)
		}
	}
	put("a", 100, 3)
	put("a", 100, 5) // the same slot later: replaced, not added
	put("b", 100, 7)
	got, at, err := db.Counts(ctx, "b", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Node != "a" || got[0].Subject != hostile || got[0].Messages != 5 || got[0].Recipients != 10 ||
		got[0].Window != time.Minute || got[0].Slot != 100 {
		t.Fatalf("b reads %+v, want a's slot 100 with 5 messages, 10 recipients, the subject byte for byte", got)
	}
	if again, _, err := db.Counts(ctx, "b", at.Add(time.Millisecond)); err != nil || len(again) != 0 {
		t.Errorf("read since the last read = %+v, %v; want nothing new", again, err)
	}
	if all, _, err := db.Counts(ctx, "", time.Time{}); err != nil || len(all) != 2 {
		t.Errorf("all nodes' slots = %d, %v; want 2", len(all), err)
	}
	if n, err := db.DeleteCountsBefore(ctx, exp.Add(time.Second)); err != nil || n != 2 {
		t.Errorf("DeleteCountsBefore = %d, %v; want 2", n, err)
	}

	for _, line := range []string{"q1\ta\n", "q2\tb\n"} {
		if err := db.AppendState(ctx, "policy", "qid/1", []byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := db.GetState(ctx, "policy", "qid/1"); err != nil || !bytes.Equal(v, []byte("q1\ta\nq2\tb\n")) {
		t.Errorf("appended state = %q, %v", v, err)
	}
}
