package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigie/vigie/internal/store"
)

var _ store.SharedCounters = (*DB)(nil)

// PutCounts implements store.SharedCounters: one batch of upserts, each
// node touching only its own rows, so nodes never wait on each other's
// row locks. The values are absolute, so the batch is idempotent.
func (db *DB) PutCounts(ctx context.Context, node string, slots []store.CountSlot) error {
	if len(slots) == 0 {
		return nil
	}
	subj := make([][]byte, len(slots))
	win, slot, msgs, rcpts := make([]int64, len(slots)), make([]int64, len(slots)), make([]int64, len(slots)), make([]int64, len(slots))
	exp := make([]time.Time, len(slots))
	for i, s := range slots {
		subj[i], win[i], slot[i], msgs[i], rcpts[i], exp[i] = []byte(s.Subject), int64(s.Window), s.Slot, int64(s.Messages), int64(s.Recipients), ts(s.Expires)
	}
	err := db.idem(ctx, "put policy counts", func(ctx context.Context) error {
		_, err := db.pool.Exec(ctx, `INSERT INTO policy_counts (node, subject, window_ns, slot, messages, recipients, expires_at, updated_at)
			SELECT $1, u.* , now() FROM unnest($2::bytea[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::timestamptz[]) AS u
			ON CONFLICT (node, subject, window_ns, slot) DO UPDATE SET messages = excluded.messages,
				recipients = excluded.recipients, updated_at = now()`,
			txt(node), subj, win, slot, msgs, rcpts, exp)
		return err
	})
	if err != nil {
		return fmt.Errorf("put policy counts: %w", err)
	}
	return nil
}

// Counts implements store.SharedCounters.
func (db *DB) Counts(ctx context.Context, exceptNode string, since time.Time) ([]store.CountSlot, time.Time, error) {
	var out []store.CountSlot
	var at time.Time
	err := db.idem(ctx, "policy counts", func(ctx context.Context) error {
		out = out[:0]
		tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
		if err != nil {
			return err
		}
		defer tx.Rollback(context.WithoutCancel(ctx))
		if err := tx.QueryRow(ctx, `SELECT now()`).Scan(&at); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT node, subject, window_ns, slot, messages, recipients, expires_at
			FROM policy_counts WHERE node <> $1 AND updated_at > $2 AND expires_at > $3`, exceptNode, since, at)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var s store.CountSlot
			var subject []byte
			var window, msgs, rcpts int64
			if err := rows.Scan(&s.Node, &subject, &window, &s.Slot, &msgs, &rcpts, &s.Expires); err != nil {
				return err
			}
			s.Subject, s.Window = string(subject), time.Duration(window)
			s.Messages, s.Recipients = uint32(min(msgs, 1<<32-1)), uint32(min(rcpts, 1<<32-1))
			out = append(out, s)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("policy counts: %w", err)
	}
	return out, at, nil
}

// DeleteCountsBefore implements store.SharedCounters.
func (db *DB) DeleteCountsBefore(ctx context.Context, t time.Time) (int64, error) {
	var n int64
	err := db.idem(ctx, "delete policy counts", func(ctx context.Context) error {
		tag, err := db.pool.Exec(ctx, `DELETE FROM policy_counts WHERE expires_at < $1`, ts(t))
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("delete policy counts: %w", err)
	}
	return n, nil
}

// AppendState implements store.SharedCounters. A retry after a lost
// connection may append the value twice: callers append self-contained
// lines whose repetition reads the same.
func (db *DB) AppendState(ctx context.Context, watch, key string, value []byte) error {
	err := db.idem(ctx, "append state", func(ctx context.Context) error {
		_, err := db.pool.Exec(ctx, `INSERT INTO watch_state (watch, key, value, updated_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (watch, key) DO UPDATE SET value = watch_state.value || excluded.value, updated_at = excluded.updated_at`,
			txt(watch), txt(key), value, ts(db.now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("append state %s/%s: %w", watch, key, err)
	}
	return nil
}
