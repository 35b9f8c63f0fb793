package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/store/storetest"
	"github.com/vigie/vigie/internal/testutil/pgtest"
	"github.com/vigie/vigie/internal/vigie"
)

var pg pgtest.Shared

func TestMain(m *testing.M) { os.Exit(pg.Main(m)) }

func openDSN(t *testing.T, dsn string, opts Options) *DB {
	t.Helper()
	db, err := Open(context.Background(), dsn, opts)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) (store.Store, func() store.Store) {
		dsn := pg.Database(t)
		open := func() store.Store { return openDSN(t, dsn, Options{}) }
		return open(), open
	})
}

// Several nodes starting at once on an empty database: the advisory lock
// makes one apply the migrations and the others find them applied.
func TestMigrationsConcurrentStart(t *testing.T) {
	dsn := pg.Database(t)
	ctx := context.Background()
	const nodes = 4
	var wg sync.WaitGroup
	errs := make([]error, nodes)
	for i := 0; i < nodes; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := Open(ctx, dsn, Options{})
			if err == nil {
				db.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	db := openDSN(t, dsn, Options{})
	defer db.Close()
	var n int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != migrationCount() {
		t.Fatalf("%d migrations recorded, want %d", n, migrationCount())
	}
}

// Times keep microseconds; finer parts are dropped the same way on write
// and in what UpdateAlert returns.
func TestTimePrecision(t *testing.T) {
	db := openDSN(t, pg.Database(t), Options{})
	defer db.Close()
	ctx := context.Background()
	at := time.Date(2024, 9, 29, 13, 0, 0, 123456789, time.FixedZone("CEST", 7200))
	a, err := db.UpdateAlert(ctx, "k", func(a *vigie.Alert) error {
		a.Watch, a.Rule, a.Subject, a.State, a.Severity, a.FirstSeen, a.LastSeen = "mail", "r", "s", vigie.AlertFiring, vigie.SeverityInfo, at, at
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.Alert(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := at.UTC().Truncate(time.Microsecond)
	if !got.FirstSeen.Equal(want) || got.FirstSeen.Location() != time.UTC || !a.FirstSeen.Equal(want) {
		t.Errorf("stored %v, returned %v; want %v (UTC)", got.FirstSeen, a.FirstSeen, want)
	}
	if !got.AckedAt.IsZero() || !got.ResolvedAt.IsZero() {
		t.Errorf("never-set times came back as %v, %v", got.AckedAt, got.ResolvedAt)
	}
}

// PostgreSQL text holds neither NUL nor invalid UTF-8; an attacker who puts
// them in a SASL name must not make the finding fail to record.
func TestUnstorableBytes(t *testing.T) {
	db := openDSN(t, pg.Database(t), Options{})
	defer db.Close()
	ctx := context.Background()
	bad := "ev\x00il\xff\xfe@example.org"
	a, err := db.UpdateAlert(ctx, "mail/sasl/"+bad, func(a *vigie.Alert) error {
		a.Watch, a.Rule, a.Subject, a.Summary, a.State, a.Severity = "mail", "sasl", bad, bad, vigie.AlertFiring, vigie.SeverityInfo
		a.Evidence = map[string]string{bad: bad}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.Alert(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := "ev\uFFFDil\uFFFD@example.org"
	if got.Subject != want || got.Summary != want || got.Evidence[want] != want {
		t.Errorf("stored %+v, want the bad bytes replaced: %q", got, want)
	}
	// The same hostile key finds the same alert again.
	b, err := db.UpdateAlert(ctx, "mail/sasl/"+bad, func(a *vigie.Alert) error { a.Count++; return nil })
	if err != nil || b.ID != a.ID {
		t.Fatalf("second update: %+v, %v", b, err)
	}
	if _, err := db.AddFinding(ctx, vigie.Finding{Watch: "mail", Rule: "sasl", Subject: bad, Severity: vigie.SeverityInfo, Time: time.Now()}, a.ID); err != nil {
		t.Fatal(err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := Open(ctx, "postgres://vigie:s3cret@127.0.0.1:1/nope?sslmode=disable&connect_timeout=2", Options{})
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "127.0.0.1:1/nope") {
		t.Errorf("unreachable server: %v (want the address named, not the password)", err)
	}
	_, err = Open(ctx, "postgres://vigie:s3cret@[bad", Options{})
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("bad DSN: %v", err)
	}
}

// Locks exclude each other across handles (as across nodes), many names
// take one connection, and a released lock can be taken again.
func TestLock(t *testing.T) {
	dsn := pg.Database(t)
	ctx := context.Background()
	a := openDSN(t, dsn, Options{MaxConns: 2})
	defer a.Close()
	b := openDSN(t, dsn, Options{})
	defer b.Close()
	var names []string
	for i := 0; i < 20; i++ {
		names = append(names, fmt.Sprintf("g%d", i))
	}
	unlock, err := a.Lock(ctx, names...) // 20 locks on a pool of 2
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Alert(ctx, 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the pool has no connection left beside the locks: %v", err)
	}
	got := make(chan error, 1)
	go func() {
		u, err := b.Lock(ctx, "g7")
		if err == nil {
			u()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("another node took a held lock (err %v)", err)
	case <-time.After(200 * time.Millisecond):
	}
	unlock()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the lock was not handed over after unlock")
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	u, err := b.Lock(ctx, "g1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Lock(short, "g1"); err == nil {
		t.Fatal("took a held lock")
	}
	u()
}
