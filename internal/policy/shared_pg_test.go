package policy

import (
	"context"
	"fmt"
	"github.com/vigie/vigie/internal/mail/subject"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/store/postgres"
	"github.com/vigie/vigie/internal/testutil/pgtest"
)

var pg pgtest.Shared

func TestMain(m *testing.M) { os.Exit(pg.Main(m)) }

// Two policy servers on one PostgreSQL database (in this process, so the
// race detector sees the sync loop): one limit for both, a suspension
// made through one seen by the other, the queue records of both kept.
func TestSharedServersOnPostgres(t *testing.T) {
	dsn := pg.Database(t)
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
	time.Sleep(4 * SyncInterval)
	var got []string
	for i := range 3 {
		got = append(got, cb.ask(t, eom("alice", fmt.Sprintf("B%04d", i), 1)))
	}
	if got[0] != "action=DUNNO" || got[1] != "action=DUNNO" || got[2] == "action=DUNNO" {
		t.Errorf("b answered %q after 3 messages through a, want 2 DUNNO then refused (limit 5)", got)
	}

	if _, err := (&Actions{Store: dbA, Actor: "admin"}).Suspend(ctx, subject.SASL("bob"), "test", 0); err != nil {
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

// A slow database (the counters table locked by another session, so every
// exchange hangs): the server answers every request at once, says it
// decides alone, and records the episode as a finding when the table is
// free again.
func TestSharedServerSlowDatabase(t *testing.T) {
	dsn := pg.Database(t)
	ctx := context.Background()
	db, err := postgres.Open(ctx, dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sink := &fakeSink{}
	a := start(t, Options{Config: testConfig(), Store: db, Node: "a", Sink: sink})
	c := dial(t, a.addr)

	conn, err := db.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE policy_counts IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	end := time.Now().Add(2500 * time.Millisecond)
	for i := 0; time.Now().Before(end); i++ {
		began := time.Now()
		got := c.ask(t, eom(fmt.Sprintf("user%d", i), fmt.Sprintf("S%04d", i), 1))
		if got != "action=DUNNO" {
			t.Fatalf("request %d while the database is slow: %s", i, got)
		}
		// the exchange waits a second, the store's retries 30: an answer
		// that waited for the database would take that long
		if took := time.Since(began); took > 500*time.Millisecond {
			t.Errorf("request %d took %v while the database hangs", i, took)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !a.s.shared.stale.Load() {
		t.Error("the server does not know it decides alone after 2.5s of a hung database")
	}
	tx.Rollback(ctx)
	end = time.Now().Add(5 * time.Second)
	for {
		var found bool
		for _, f := range sink.all() {
			if f.Rule == "shared-store-unavailable" && f.Subject == "a" && f.Evidence["answered_alone"] != "0" {
				found = true
			}
		}
		if found {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("no shared-store-unavailable finding 5s after the database recovered: %+v", sink.all())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
