package policy

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie/vigie/internal/mailqueue"
)

func TestRecordsFindOwners(t *testing.T) {
	db := openStore(t, t.TempDir())
	now := time.Date(2026, 11, 21, 10, 0, 30, 0, time.UTC)
	clock := func() time.Time { return now }
	rec := newRecorder(db, slog.New(slog.DiscardHandler), clock, time.Hour, prometheus.NewCounter(prometheus.CounterOpts{Name: "x"}))
	minute := now.Unix() / 60
	rec.expire(context.Background()) // as run does at start: sets where expiry begins
	rec.add(record{id: "AAAAA1", minute: minute, owner: recordValue{User: "alice", Sender: "a@x", Client: "192.0.2.1"}})
	// a hostile account name cannot forge a second record
	rec.add(record{id: "AAAAA2", minute: minute, owner: recordValue{User: "evil\nBBBBB9\tbob\tb@x\t1.2.3.4", Sender: "e@x"}})
	rec.flush(context.Background())
	// a restart in the same minute continues the minute's record
	rec2 := newRecorder(db, slog.New(slog.DiscardHandler), clock, time.Hour, prometheus.NewCounter(prometheus.CounterOpts{Name: "y"}))
	rec2.add(record{id: "AAAAA3", minute: minute + 1, owner: recordValue{User: "carol"}})
	rec2.add(record{id: "AAAAA4", minute: minute, owner: recordValue{User: "dave"}})
	rec2.flush(context.Background())

	ix := &StoreIndex{Store: db, Now: clock}
	arrival := now.Add(-5 * time.Second).Unix()
	msgs := []mailqueue.Message{{ID: "AAAAA1", Arrival: arrival}, {ID: "AAAAA2", Arrival: arrival}, {ID: "AAAAA3", Arrival: arrival},
		{ID: "AAAAA4", Arrival: arrival}, {ID: "BBBBB9", Arrival: arrival}, {ID: "CCCCC1", Arrival: arrival}}
	got, err := ix.Owners(context.Background(), msgs)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"AAAAA1": "alice", "AAAAA2": "evil BBBBB9 bob b@x 1.2.3.4", "AAAAA3": "carol", "AAAAA4": "dave"}
	if len(got) != len(want) {
		t.Errorf("owners: %+v", got)
	}
	for id, user := range want {
		if got[id].SASLUser != user {
			t.Errorf("%s: %q, want %q", id, got[id].SASLUser, user)
		}
	}
	// expiry drops minutes older than the retention
	now = now.Add(2 * time.Hour)
	rec2.expire(context.Background())
	if got, _ := ix.Owners(context.Background(), msgs); len(got) != 0 {
		t.Errorf("after expiry: %+v", got)
	}
}

// A record line is hostile text (account, sender, client) written by
// appendRecord and read by parseMinute: whatever the values, one message
// is one record, read back under its own queue id with its uid, and
// damaged stored bytes never crash the reader.
func FuzzRecords(f *testing.F) {
	f.Add("AAAAA1", "alice", "a@x", "192.0.2.1", "33", []byte("X\ta\tb\tc\t7\nY\t\t\t\n"))
	f.Add("AAAAA2", "evil\nBBBBB9\tbob", "e@x", "", "", []byte("\t\t\t\n\n\t"))
	f.Fuzz(func(t *testing.T, id, user, sender, client, uid string, stored []byte) {
		parseMinute(stored) // damaged records: no panic
		if id == "" || strings.ContainsAny(id, "\t\n ") {
			return
		}
		if uid != "" {
			if _, err := strconv.Atoi(uid); err != nil || strings.ContainsAny(uid, "\t\n") {
				return
			}
		}
		var m minuteRecords
		m.appendRecord(id, recordValue{User: user, Sender: sender, Client: client, UID: uid})
		got := parseMinute(m.data)
		if len(got) != 1 {
			t.Fatalf("one record became %d: %q", len(got), m.data)
		}
		v, ok := got[id]
		if !ok || v.UID != uid {
			t.Fatalf("record %q read back as %+v", m.data, got)
		}
	})
}
