package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"

	"github.com/vigie/vigie/internal/store"
)

// ClaimShards implements store.Leases. SQLite has one writer, so the
// transaction alone keeps claims apart.
func (db *DB) ClaimShards(ctx context.Context, c store.LeaseClaim) ([]int, error) {
	if c.Shards <= 0 || c.TTL <= 0 || c.Node == "" || c.Sweep == "" {
		return nil, fmt.Errorf("claim shards: sweep, node, a positive shard count and TTL are required")
	}
	max := c.Max
	if max <= 0 || max > c.Shards {
		max = c.Shards
	}
	now, until := ts(c.Now), ts(c.Now.Add(c.TTL))
	var held []int
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM leases WHERE sweep = ? AND shard >= ?`, c.Sweep, c.Shards); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO lease_nodes (sweep, node, expires_at) VALUES (?, ?, ?)
			ON CONFLICT (sweep, node) DO UPDATE SET expires_at = excluded.expires_at`, c.Sweep, c.Node, until); err != nil {
			return err
		}
		for i := 0; i < c.Shards; i++ {
			if _, err := tx.ExecContext(ctx, `INSERT INTO leases (sweep, shard, node, expires_at) VALUES (?, ?, '', 0)
				ON CONFLICT (sweep, shard) DO NOTHING`, c.Sweep, i); err != nil {
				return err
			}
		}
		// Renew what the node holds, release what is beyond its share.
		mine, err := shardList(ctx, tx, `SELECT shard FROM leases WHERE sweep = ? AND node = ? AND expires_at > ? ORDER BY shard`,
			c.Sweep, c.Node, now)
		if err != nil {
			return err
		}
		if len(mine) > max {
			for _, s := range mine[max:] {
				if _, err := tx.ExecContext(ctx, `UPDATE leases SET node = '', expires_at = 0 WHERE sweep = ? AND shard = ?`, c.Sweep, s); err != nil {
					return err
				}
			}
			mine = mine[:max]
		}
		free, err := shardList(ctx, tx, `SELECT shard FROM leases WHERE sweep = ? AND (node = '' OR expires_at <= ?)
			ORDER BY shard LIMIT ?`, c.Sweep, now, max-len(mine))
		if err != nil {
			return err
		}
		held = append(mine, free...)
		for _, s := range held {
			if _, err := tx.ExecContext(ctx, `UPDATE leases SET node = ?, expires_at = ? WHERE sweep = ? AND shard = ?`,
				c.Node, until, c.Sweep, s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim shards of %s for %s: %w", c.Sweep, c.Node, err)
	}
	sort.Ints(held)
	return held, nil
}

func shardList(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]int, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var s int
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// ReleaseShards implements store.Leases.
func (db *DB) ReleaseShards(ctx context.Context, sweep, node string) error {
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE leases SET node = '', expires_at = 0 WHERE sweep = ? AND node = ?`, sweep, node); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM lease_nodes WHERE sweep = ? AND node = ?`, sweep, node)
		return err
	})
	if err != nil {
		return fmt.Errorf("release shards of %s for %s: %w", sweep, node, err)
	}
	return nil
}

// LeaseHolders implements store.Leases.
func (db *DB) LeaseHolders(ctx context.Context, sweep string, now time.Time) (map[string][]int, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT node, -1 FROM lease_nodes WHERE sweep = ? AND expires_at > ?
		UNION ALL SELECT node, shard FROM leases WHERE sweep = ? AND node != '' AND expires_at > ?
		ORDER BY 1, 2`, sweep, ts(now), sweep, ts(now))
	if err != nil {
		return nil, fmt.Errorf("lease holders of %s: %w", sweep, err)
	}
	defer rows.Close()
	out := map[string][]int{}
	for rows.Next() {
		var node string
		var s int
		if err := rows.Scan(&node, &s); err != nil {
			return nil, fmt.Errorf("lease holders of %s: %w", sweep, err)
		}
		if s < 0 {
			if out[node] == nil {
				out[node] = []int{}
			}
			continue
		}
		out[node] = append(out[node], s)
	}
	return out, rows.Err()
}
