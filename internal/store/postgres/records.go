package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
)

// AddSamples implements store.Series, in one COPY.
func (db *DB) AddSamples(ctx context.Context, samples []vigie.Sample) error {
	if len(samples) == 0 {
		return nil
	}
	rows := make([][]any, len(samples))
	for i, s := range samples {
		rows[i] = []any{txt(s.Series), txt(s.Subject), ts(s.Time), s.Value}
	}
	err := db.tx(ctx, "add samples", func(tx pgx.Tx) error {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"samples"}, []string{"series", "subject", "time", "value"}, pgx.CopyFromRows(rows))
		return err
	})
	if err != nil {
		return fmt.Errorf("add samples: %w", err)
	}
	return nil
}

// Samples implements store.Series.
func (db *DB) Samples(ctx context.Context, series, subject string, from, to time.Time) ([]vigie.Sample, error) {
	var out []vigie.Sample
	err := db.idem(ctx, "samples", func(ctx context.Context) error {
		rows, err := db.pool.Query(ctx, `SELECT time, value FROM samples WHERE series = $1 AND subject = $2
			AND time >= $3 AND time < $4 ORDER BY time`, txt(series), txt(subject), ts(from), ts(to))
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (vigie.Sample, error) {
			s := vigie.Sample{Series: series, Subject: subject}
			err := r.Scan(&s.Time, &s.Value)
			s.Time = fromTS(s.Time)
			return s, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("samples %s: %w", series, err)
	}
	return out, nil
}

// DeleteSamplesBefore implements store.Series.
func (db *DB) DeleteSamplesBefore(ctx context.Context, t time.Time) (int64, error) {
	var n int64
	err := db.idem(ctx, "delete samples", func(ctx context.Context) error {
		tag, err := db.pool.Exec(ctx, `DELETE FROM samples WHERE time < $1`, ts(t))
		n += tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("delete samples: %w", err)
	}
	return n, nil
}

// GetState implements store.State.
func (db *DB) GetState(ctx context.Context, watch, key string) ([]byte, error) {
	var v []byte
	err := db.idem(ctx, "state", func(ctx context.Context) error {
		return db.pool.QueryRow(ctx, `SELECT value FROM watch_state WHERE watch = $1 AND key = $2`, txt(watch), txt(key)).Scan(&v)
	})
	if errors.Is(err, pgx.ErrNoRows) {
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
	err := db.idem(ctx, "put state", func(ctx context.Context) error {
		_, err := db.pool.Exec(ctx, `INSERT INTO watch_state (watch, key, value, updated_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (watch, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
			txt(watch), txt(key), value, ts(db.now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("put state %s/%s: %w", watch, key, err)
	}
	return nil
}

// DeleteState implements store.State.
func (db *DB) DeleteState(ctx context.Context, watch, key string) error {
	err := db.idem(ctx, "delete state", func(ctx context.Context) error {
		_, err := db.pool.Exec(ctx, `DELETE FROM watch_state WHERE watch = $1 AND key = $2`, txt(watch), txt(key))
		return err
	})
	if err != nil {
		return fmt.Errorf("delete state %s/%s: %w", watch, key, err)
	}
	return nil
}

// AddAudit implements store.Audit.
func (db *DB) AddAudit(ctx context.Context, e vigie.AuditEntry) (int64, error) {
	var id int64
	err := db.exec(ctx, "add audit entry", func(ctx context.Context) error {
		return db.pool.QueryRow(ctx, `INSERT INTO audit (time, actor, action, target, detail, result)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, ts(e.Time), txt(e.Actor), txt(e.Action), txt(e.Target),
			txt(e.Detail), txt(e.Result)).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("add audit entry: %w", err)
	}
	return id, nil
}

// ListAudit implements store.Audit.
func (db *DB) ListAudit(ctx context.Context, q store.AuditQuery) ([]vigie.AuditEntry, error) {
	var w where
	if q.Actor != "" {
		w.add(`actor = ?`, txt(q.Actor))
	}
	if q.Action != "" {
		w.add(`action = ?`, txt(q.Action))
	}
	query := `SELECT id, time, actor, action, target, detail, result FROM audit` + w.String() +
		` ORDER BY time DESC, id DESC LIMIT ` + w.next(limit(q.Limit, 1000))
	var out []vigie.AuditEntry
	err := db.idem(ctx, "list audit", func(ctx context.Context) error {
		rows, err := db.pool.Query(ctx, query, w.args...)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (vigie.AuditEntry, error) {
			var e vigie.AuditEntry
			err := r.Scan(&e.ID, &e.Time, &e.Actor, &e.Action, &e.Target, &e.Detail, &e.Result)
			e.Time = fromTS(e.Time)
			return e, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	return out, nil
}
