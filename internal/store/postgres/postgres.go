// Package postgres is the Store that several vigie nodes share: one
// PostgreSQL database, reached through a pgx connection pool that
// reconnects by itself when the server restarts.
//
// Writes that read-modify-write (UpdateAlert, UpdateIncident) lock their
// row (SELECT ... FOR UPDATE) in a transaction, and a new alert key is
// inserted with ON CONFLICT, so that a finding seen by two nodes at once
// is one alert with both counts. A transaction that failed because of
// another node (serialization failure, deadlock, unique violation) or
// because the server went away before it committed is retried.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/vigie/vigie/internal/store"
)

// DB implements store.Store and store.Locker.
type DB struct {
	pool     *pgxpool.Pool
	now      func() time.Time
	log      *slog.Logger
	retryFor time.Duration
}

var (
	_ store.Store  = (*DB)(nil)
	_ store.Locker = (*DB)(nil)
)

// Options tune Open. The zero value is fine.
type Options struct {
	Now    func() time.Time // for updated_at columns; time.Now if nil
	Logger *slog.Logger
	// RetryFor bounds how long a write waits for the database to come
	// back (restart, fail-over) before it returns the error. 0: 30s.
	RetryFor time.Duration
	// MaxConns sizes the pool; 0: 16.
	MaxConns int32
}

// Open connects to the database named by dsn (a postgres:// URL or
// keyword=value string) and applies the embedded migrations.
func Open(ctx context.Context, dsn string, opts Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's parse errors can quote the DSN, password included.
		return nil, errors.New("store postgres: the DSN does not parse: expected postgres://user@host:port/db or host=... dbname=...")
	}
	cfg.MaxConns = opts.MaxConns
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 16
	}
	cfg.HealthCheckPeriod = 5 * time.Second
	if cfg.ConnConfig.RuntimeParams == nil {
		cfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "vigie"
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	db := &DB{now: opts.Now, log: opts.Logger, retryFor: opts.RetryFor}
	if db.now == nil {
		db.now = time.Now
	}
	if db.log == nil {
		db.log = slog.New(slog.DiscardHandler)
	}
	db.log = db.log.With("component", "store")
	if db.retryFor <= 0 {
		db.retryFor = 30 * time.Second
	}
	where := fmt.Sprintf("store postgres %s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
	db.pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if err := db.pool.Ping(ctx); err != nil {
		db.pool.Close()
		return nil, fmt.Errorf("%s: %w (is the server up, and the DSN's user, password and database right?)", where, err)
	}
	if err := migrate(ctx, db.pool); err != nil {
		db.pool.Close()
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return db, nil
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.pool.Ping(ctx) }

// Close closes the pool.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Pool is the connection pool, for the store migration command and tests.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// retryable says whether a failed statement or transaction can be run
// again: another node got in the way (the transaction rolled back), or the
// server went away before the work could have been applied.
func retryable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "40001", "40P01", "23505": // serialization failure, deadlock, unique violation
			return true
		case "57P01", "57P02", "57P03": // admin / crash shutdown, cannot connect now (starting up)
			return true
		}
		return false
	}
	if pgconn.SafeToRetry(err) {
		return true
	}
	var ce *pgconn.ConnectError
	return errors.As(err, &ce)
}

// connLost says the connection failed (not the statement): before COMMIT
// was sent, that means the transaction did not commit.
func connLost(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, pgx.ErrNoRows) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "57") || strings.HasPrefix(pe.Code, "08")
	}
	var ne net.Error
	var ce *pgconn.ConnectError
	return errors.As(err, &ne) || errors.As(err, &ce) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		pgconn.SafeToRetry(err)
}

// callerError carries an error of the caller's function through tx
// untouched and never retried.
type callerError struct{ err error }

func (e callerError) Error() string { return e.err.Error() }
func (e callerError) Unwrap() error { return e.err }

// retry runs fn until it succeeds, fails for good, or the database stayed
// away longer than RetryFor.
func (db *DB) retry(ctx context.Context, what string, fn func(ctx context.Context) (retry bool, err error)) error {
	deadline := time.Now().Add(db.retryFor)
	wait := 20 * time.Millisecond
	for attempt := 1; ; attempt++ {
		again, err := fn(ctx)
		if err == nil || !again || ctx.Err() != nil || time.Now().After(deadline) {
			var ce callerError
			if errors.As(err, &ce) {
				return ce.err
			}
			return err
		}
		if attempt == 3 {
			db.log.Warn("database write failing, retrying", "what", what, "err", err)
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// exec runs one statement, retried when it surely did not apply.
func (db *DB) exec(ctx context.Context, what string, fn func(ctx context.Context) error) error {
	return db.retry(ctx, what, func(ctx context.Context) (bool, error) {
		err := fn(ctx)
		return err != nil && retryable(err), err
	})
}

// tx runs fn in a transaction. It is run again when it failed because of
// another node or because the connection was lost before COMMIT; a failed
// COMMIT is retried only when pgx knows nothing was sent. Errors fn returns
// itself are wrapped in callerError and returned as they are.
func (db *DB) tx(ctx context.Context, what string, fn func(tx pgx.Tx) error) error {
	return db.retry(ctx, what, func(ctx context.Context) (bool, error) {
		tx, err := db.pool.Begin(ctx)
		if err != nil {
			return retryable(err) || connLost(err), err
		}
		if err := fn(tx); err != nil {
			tx.Rollback(context.WithoutCancel(ctx))
			var ce callerError
			if errors.As(err, &ce) {
				return false, err
			}
			return retryable(err) || connLost(err), err
		}
		if err := tx.Commit(ctx); err != nil {
			var pe *pgconn.PgError
			rolledBack := errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01" || pe.Code == "23505")
			return rolledBack || pgconn.SafeToRetry(err), err
		}
		return false, nil
	})
}

// errConflict says another node inserted the same new key first: the
// transaction is run again and finds that node's row.
var errConflict = &pgconn.PgError{Code: "23505", Message: "another writer inserted the same key first"}

// idem runs an idempotent statement (a read, an upsert, a delete): it is
// run again whenever the connection failed, whether or not it was applied.
func (db *DB) idem(ctx context.Context, what string, fn func(ctx context.Context) error) error {
	return db.retry(ctx, what, func(ctx context.Context) (bool, error) {
		err := fn(ctx)
		return err != nil && (retryable(err) || connLost(err)), err
	})
}
