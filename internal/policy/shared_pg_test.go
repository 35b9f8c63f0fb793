package policy

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/store/postgres"
	"github.com/vigie/vigie/internal/testutil/pgtest"
)

// Two policy servers on one PostgreSQL database (in this process, so the
// race detector sees the sync loop): one limit for both, a suspension
// made through one seen by the other, the queue records of both kept.
func TestSharedServersOnPostgres(t *testing.T) {
	dsn := pgtest.Require(t).Database(t)
	ctx := context.Background()
	open := func() *postgres.DB {
		db, err := postgres.Open(ctx, dsn, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	dbA, dbB := open(), open()
	a := start(t, Options{Config: testConfig(), Store: dbA, Node: "a"})
	b := start(t, Options{Config: testConfig(), Store: dbB, Node: "b"})
	ca, cb := dial(t, a.addr), dial(t, b.addr)
	for i := range 3 {
		if got := ca.ask(t, eom("alice", fmt.Sprintf("A%04d", i), 1)); got != "action=DUNNO" {
			t.Fatalf("a, message %d: %s", i, got)
		}
	}
	time.Sleep(2*SyncInterval + 100*time.Millisecond)
	var got []string
	for i := range 3 {
		got = append(got, cb.ask(t, eom("alice", fmt.Sprintf("B%04d", i), 1)))
	}
	if got[0] != "action=DUNNO" || got[1] != "action=DUNNO" || got[2] == "action=DUNNO" {
		t.Errorf("b answered %q after 3 messages through a, want 2 DUNNO then refused (limit 5)", got)
	}

	if _, err := (&Actions{Store: dbA, Actor: "admin"}).Suspend(ctx, "bob", "test", 0); err != nil {
		t.Fatal(err)
	}
	end := time.Now().Add(time.Second)
	for !strings.HasPrefix(cb.ask(t, eom("bob", fmt.Sprintf("C%d", time.Now().UnixNano()), 1)), "action=HOLD") {
		if time.Now().After(end) {
			t.Fatal("b does not hold bob's mail a second after a suspended him")
		}
		time.Sleep(20 * time.Millisecond)
	}

	time.Sleep(1500 * time.Millisecond) // the recorders write once a second
	recs := map[string]recordValue{}
	for m := time.Now().Unix()/60 - 1; m <= time.Now().Unix()/60; m++ {
		r, err := readMinute(ctx, dbA, m)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range r {
			recs[k] = v
		}
	}
	for _, q := range []string{"A0000", "A0002", "B0000", "B0001"} {
		if recs[q].User != "alice" {
			t.Errorf("no record of %s in the shared minute: %v", q, recs)
		}
	}
}
