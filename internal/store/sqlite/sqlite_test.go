package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/store/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) (store.Store, func() store.Store) {
		path := filepath.Join(t.TempDir(), "vigie.db")
		open := func() store.Store {
			db, err := Open(context.Background(), path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			return db
		}
		return open(), open
	})
}

func TestMigrationsAreIdempotent(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "vigie.db")
	for i := 0; i < 3; i++ {
		db, err := Open(ctx, path, Options{})
		if err != nil {
			t.Fatalf("open #%d: %v", i, err)
		}
		var n int
		if err := db.r.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		entries, _ := migrations.ReadDir("migrations")
		if n != len(entries) {
			t.Fatalf("open #%d: %d migrations recorded, want %d", i, n, len(entries))
		}
		db.Close()
	}
}

func TestWALMode(t *testing.T) {
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "vigie.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode string
	if err := db.r.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
	// The read pool must not be able to write.
	if _, err := db.r.Exec(`DELETE FROM alerts`); err == nil {
		t.Error("read pool accepted a write")
	}
}

func TestOpenErrorsNameThePath(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope", "vigie.db")
	if _, err := Open(context.Background(), missing, Options{}); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing dir: err = %v, want it to name %s", err, missing)
	}
	garbage := filepath.Join(dir, "garbage.db")
	os.WriteFile(garbage, []byte(strings.Repeat("not a database ", 1000)), 0o600)
	if _, err := Open(context.Background(), garbage, Options{}); err == nil || !strings.Contains(err.Error(), garbage) {
		t.Errorf("garbage file: err = %v, want it to name %s", err, garbage)
	}
}
