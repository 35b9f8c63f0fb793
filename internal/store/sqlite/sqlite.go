// Package sqlite is the single-machine Store: one SQLite file in WAL mode,
// written by one connection and read by a small pool.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"syscall"
	"time"

	_ "modernc.org/sqlite" // registers the pure Go "sqlite" driver

	"github.com/vigie/vigie/internal/health"
	"github.com/vigie/vigie/internal/store"
)

// DB implements store.Store.
type DB struct {
	w   *sql.DB // exactly one connection: SQLite has one writer anyway
	r   *sql.DB // readers; WAL lets them run beside the writer
	now func() time.Time
}

var _ store.Store = (*DB)(nil)

// Options tune Open. The zero value is fine.
type Options struct {
	Now func() time.Time // for updated_at columns; time.Now if nil
}

// Open opens (creating if needed) the database at path and applies the
// embedded migrations.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if fi, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("store %s: directory: %w", path, err)
		} else if !fi.IsDir() {
			return nil, fmt.Errorf("store %s: %s is not a directory", path, dir)
		}
	}
	// A store file vigie may not write (left by a run as root) would open
	// read-only and fail at the first write with "attempt to write a
	// readonly database": say which file and why instead.
	if dir := filepath.Dir(path); syscall.Access(dir, 3 /* W_OK|X_OK */) != nil {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("store %s: vigie may not create it in %s (vigie runs as %s; the directory is %s): give the directory to vigie's user or choose another store.path",
				path, dir, health.Identity(), health.Owner(dir))
		}
	}
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		if _, err := os.Stat(f); err == nil && syscall.Access(f, 2 /* W_OK */) != nil {
			return nil, fmt.Errorf("store %s: vigie may not write %s (vigie runs as %s; the file is %s, left by a run as another user?): give the store's files to vigie's user",
				path, f, health.Identity(), health.Owner(f))
		}
	}
	pragmas := url.Values{}
	for _, p := range []string{
		"journal_mode(WAL)",
		"busy_timeout(10000)",
		// NORMAL in WAL mode loses nothing on a process crash (kill -9),
		// only possibly the last transactions on a power cut.
		"synchronous(NORMAL)",
		"foreign_keys(ON)",
	} {
		pragmas.Add("_pragma", p)
	}
	wq := url.Values{"_txlock": {"immediate"}}
	for k, v := range pragmas {
		wq[k] = v
	}
	w, err := sql.Open("sqlite", dsn(path, wq))
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	db := &DB{w: w, now: opts.Now}
	if db.now == nil {
		db.now = time.Now
	}
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("store %s: %w (is the directory writable?)", path, err)
	}
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	rq := url.Values{}
	for k, v := range pragmas {
		rq[k] = v
	}
	rq.Add("_pragma", "query_only(1)")
	r, err := sql.Open("sqlite", dsn(path, rq))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	db.r = r
	return db, nil
}

func dsn(path string, q url.Values) string {
	u := url.URL{Scheme: "file", OmitHost: true, Path: path, RawQuery: q.Encode()}
	return u.String()
}

// Ping checks both pools.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.w.PingContext(ctx); err != nil {
		return err
	}
	return db.r.PingContext(ctx)
}

// Close closes the database.
func (db *DB) Close() error {
	return errors.Join(db.r.Close(), db.w.Close())
}

// tx runs fn in a write transaction.
func (db *DB) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}
