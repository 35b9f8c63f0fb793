package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigie/vigie/internal/store"
)

func insertOutbox(ctx context.Context, tx pgx.Tx, items []store.OutboxItem) error {
	for i := range items {
		it := &items[i]
		if err := tx.QueryRow(ctx, `INSERT INTO outbox (node, notifier, key, created, payload) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			txt(it.Node), txt(it.Notifier), txt(it.Key), ts(it.Created), it.Payload).Scan(&it.ID); err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
	}
	return nil
}

// AddOutbox implements store.Outbox.
func (db *DB) AddOutbox(ctx context.Context, items []store.OutboxItem) error {
	return db.tx(ctx, "add outbox", func(tx pgx.Tx) error { return insertOutbox(ctx, tx, items) })
}

// PendingOutbox implements store.Outbox.
func (db *DB) PendingOutbox(ctx context.Context, node, notifier string, n int) ([]store.OutboxItem, error) {
	var out []store.OutboxItem
	err := db.idem(ctx, "outbox", func(ctx context.Context) error {
		out = out[:0]
		rows, err := db.pool.Query(ctx, `SELECT id, key, created, payload FROM outbox
			WHERE node = $1 AND notifier = $2 AND done IS NULL ORDER BY id LIMIT $3`, txt(node), txt(notifier), limit(n, 1000))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			it := store.OutboxItem{Node: node, Notifier: notifier}
			if err := rows.Scan(&it.ID, &it.Key, &it.Created, &it.Payload); err != nil {
				return err
			}
			it.Created = fromTS(it.Created)
			out = append(out, it)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	return out, nil
}

// FinishOutbox implements store.Outbox. Marking done twice is harmless, so
// the statement is retried as an idempotent one.
func (db *DB) FinishOutbox(ctx context.Context, ids []int64, at time.Time, result string) error {
	if len(ids) == 0 {
		return nil
	}
	if at.IsZero() {
		at = db.now()
	}
	err := db.idem(ctx, "outbox", func(ctx context.Context) error {
		_, err := db.pool.Exec(ctx, `UPDATE outbox SET done = $1, result = $2 WHERE id = ANY($3)`, ts(at), txt(result), ids)
		return err
	})
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	return nil
}

// DeleteOutboxBefore implements store.Outbox.
func (db *DB) DeleteOutboxBefore(ctx context.Context, t time.Time) (int64, error) {
	var n int64
	err := db.idem(ctx, "outbox", func(ctx context.Context) error {
		tag, err := db.pool.Exec(ctx, `DELETE FROM outbox WHERE done IS NOT NULL AND done < $1`, ts(t))
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("outbox: %w", err)
	}
	return n, nil
}
