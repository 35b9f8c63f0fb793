package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/store"
)

func insertOutbox(ctx context.Context, tx *sql.Tx, items []store.OutboxItem) error {
	for i := range items {
		it := &items[i]
		res, err := tx.ExecContext(ctx, `INSERT INTO outbox (node, notifier, key, created, payload) VALUES (?, ?, ?, ?, ?)`,
			it.Node, it.Notifier, it.Key, ts(it.Created), it.Payload)
		if err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
		if it.ID, err = res.LastInsertId(); err != nil {
			return err
		}
	}
	return nil
}

// AddOutbox implements store.Outbox.
func (db *DB) AddOutbox(ctx context.Context, items []store.OutboxItem) error {
	return db.tx(ctx, func(tx *sql.Tx) error { return insertOutbox(ctx, tx, items) })
}

// PendingOutbox implements store.Outbox.
func (db *DB) PendingOutbox(ctx context.Context, node, notifier string, n int) ([]store.OutboxItem, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, key, created, payload FROM outbox
		WHERE node = ? AND notifier = ? AND done = 0 ORDER BY id LIMIT ?`, node, notifier, limit(n, 1000))
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	defer rows.Close()
	var out []store.OutboxItem
	for rows.Next() {
		it := store.OutboxItem{Node: node, Notifier: notifier}
		var created int64
		if err := rows.Scan(&it.ID, &it.Key, &created, &it.Payload); err != nil {
			return nil, fmt.Errorf("outbox: %w", err)
		}
		it.Created = fromTS(created)
		out = append(out, it)
	}
	return out, rows.Err()
}

// FinishOutbox implements store.Outbox.
func (db *DB) FinishOutbox(ctx context.Context, ids []int64, at time.Time, result string) error {
	if len(ids) == 0 {
		return nil
	}
	if at.IsZero() {
		at = db.now()
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		// in chunks: SQLite bounds the number of parameters
		for len(ids) > 0 {
			k := min(len(ids), 500)
			args := []any{ts(at), result}
			for _, id := range ids[:k] {
				args = append(args, id)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET done = ?, result = ? WHERE id IN (`+
				strings.TrimSuffix(strings.Repeat("?, ", k), ", ")+`)`, args...); err != nil {
				return fmt.Errorf("outbox: %w", err)
			}
			ids = ids[k:]
		}
		return nil
	})
}

// DeleteOutboxBefore implements store.Outbox.
func (db *DB) DeleteOutboxBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := db.w.ExecContext(ctx, `DELETE FROM outbox WHERE done <> 0 AND done < ?`, ts(t))
	if err != nil {
		return 0, fmt.Errorf("outbox: %w", err)
	}
	return res.RowsAffected()
}
