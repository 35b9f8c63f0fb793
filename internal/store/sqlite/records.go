package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
)

// AddSamples implements store.Series, in one transaction.
func (db *DB) AddSamples(ctx context.Context, samples []vigie.Sample) error {
	if len(samples) == 0 {
		return nil
	}
	err := db.tx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO samples (series, subject, time, value) VALUES (?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, s := range samples {
			if _, err := stmt.ExecContext(ctx, s.Series, s.Subject, ts(s.Time), s.Value); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("add samples: %w", err)
	}
	return nil
}

// Samples implements store.Series.
func (db *DB) Samples(ctx context.Context, series, subject string, from, to time.Time) ([]vigie.Sample, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT time, value FROM samples WHERE series = ? AND subject = ?
		AND time >= ? AND time < ? ORDER BY time`, series, subject, ts(from), ts(to))
	if err != nil {
		return nil, fmt.Errorf("samples %s: %w", series, err)
	}
	defer rows.Close()
	var out []vigie.Sample
	for rows.Next() {
		s := vigie.Sample{Series: series, Subject: subject}
		var t int64
		if err := rows.Scan(&t, &s.Value); err != nil {
			return nil, fmt.Errorf("samples %s: %w", series, err)
		}
		s.Time = fromTS(t)
		out = append(out, s)
	}
	return out, rows.Err()
}

// DeleteSamplesBefore implements store.Series.
func (db *DB) DeleteSamplesBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := db.w.ExecContext(ctx, `DELETE FROM samples WHERE time < ?`, ts(t))
	if err != nil {
		return 0, fmt.Errorf("delete samples: %w", err)
	}
	return res.RowsAffected()
}

// GetState implements store.State.
func (db *DB) GetState(ctx context.Context, watch, key string) ([]byte, error) {
	var v []byte
	err := db.r.QueryRowContext(ctx, `SELECT value FROM watch_state WHERE watch = ? AND key = ?`, watch, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("state %s/%s: %w", watch, key, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("state %s/%s: %w", watch, key, err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// PutState implements store.State.
func (db *DB) PutState(ctx context.Context, watch, key string, value []byte) error {
	if value == nil {
		value = []byte{}
	}
	_, err := db.w.ExecContext(ctx, `INSERT INTO watch_state (watch, key, value, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (watch, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		watch, key, value, ts(db.now()))
	if err != nil {
		return fmt.Errorf("put state %s/%s: %w", watch, key, err)
	}
	return nil
}

// DeleteState implements store.State.
func (db *DB) DeleteState(ctx context.Context, watch, key string) error {
	if _, err := db.w.ExecContext(ctx, `DELETE FROM watch_state WHERE watch = ? AND key = ?`, watch, key); err != nil {
		return fmt.Errorf("delete state %s/%s: %w", watch, key, err)
	}
	return nil
}

// AddAudit implements store.Audit.
func (db *DB) AddAudit(ctx context.Context, e vigie.AuditEntry) (int64, error) {
	res, err := db.w.ExecContext(ctx, `INSERT INTO audit (time, actor, action, target, detail, result) VALUES (?, ?, ?, ?, ?, ?)`,
		ts(e.Time), e.Actor, e.Action, e.Target, e.Detail, e.Result)
	if err != nil {
		return 0, fmt.Errorf("add audit entry: %w", err)
	}
	return res.LastInsertId()
}

// ListAudit implements store.Audit.
func (db *DB) ListAudit(ctx context.Context, q store.AuditQuery) ([]vigie.AuditEntry, error) {
	var where []string
	var args []any
	if q.Actor != "" {
		where = append(where, `actor = ?`)
		args = append(args, q.Actor)
	}
	if q.Action != "" {
		where = append(where, `action = ?`)
		args = append(args, q.Action)
	}
	query := `SELECT id, time, actor, action, target, detail, result FROM audit`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	query += ` ORDER BY time DESC, id DESC LIMIT ?`
	args = append(args, limit(q.Limit, 1000))
	rows, err := db.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	defer rows.Close()
	var out []vigie.AuditEntry
	for rows.Next() {
		var e vigie.AuditEntry
		var t int64
		if err := rows.Scan(&e.ID, &t, &e.Actor, &e.Action, &e.Target, &e.Detail, &e.Result); err != nil {
			return nil, fmt.Errorf("list audit: %w", err)
		}
		e.Time = fromTS(t)
		out = append(out, e)
	}
	return out, rows.Err()
}
