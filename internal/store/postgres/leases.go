package postgres

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigie/vigie/internal/store"
)

// ClaimShards implements store.Leases. Free or expired shards are taken
// with FOR UPDATE SKIP LOCKED: two nodes claiming at the same moment get
// different shards instead of waiting for each other.
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
	err := db.tx(ctx, "claim shards", func(tx pgx.Tx) error {
		held = nil
		if _, err := tx.Exec(ctx, `DELETE FROM leases WHERE sweep = $1 AND shard >= $2`, c.Sweep, c.Shards); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO lease_nodes (sweep, node, expires_at) VALUES ($1, $2, $3)
			ON CONFLICT (sweep, node) DO UPDATE SET expires_at = excluded.expires_at`, c.Sweep, c.Node, until); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO leases (sweep, shard, node, expires_at)
			SELECT $1, s, '', '0001-01-01 00:00:00+00' FROM generate_series(0, $2::integer - 1) AS s
			ON CONFLICT (sweep, shard) DO NOTHING`, c.Sweep, c.Shards); err != nil {
			return err
		}
		// Renew what the node holds, up to its share; release the rest.
		rows, err := tx.Query(ctx, `UPDATE leases SET expires_at = $4 WHERE sweep = $1 AND (sweep, shard) IN (
			SELECT sweep, shard FROM leases WHERE sweep = $1 AND node = $2 AND expires_at > $3 ORDER BY shard LIMIT $5)
			RETURNING shard`, c.Sweep, c.Node, now, until, max)
		if err != nil {
			return err
		}
		mine, err := pgx.CollectRows(rows, pgx.RowTo[int])
		if err != nil {
			return err
		}
		if mine == nil {
			mine = []int{}
		}
		if _, err := tx.Exec(ctx, `UPDATE leases SET node = '', expires_at = '0001-01-01 00:00:00+00'
			WHERE sweep = $1 AND node = $2 AND NOT (shard = ANY($3))`, c.Sweep, c.Node, mine); err != nil {
			return err
		}
		held = mine
		if want := max - len(mine); want > 0 {
			rows, err := tx.Query(ctx, `UPDATE leases SET node = $2, expires_at = $4 WHERE sweep = $1 AND shard IN (
				SELECT shard FROM leases WHERE sweep = $1 AND (node = '' OR expires_at <= $3)
				ORDER BY shard LIMIT $5 FOR UPDATE SKIP LOCKED) RETURNING shard`, c.Sweep, c.Node, now, until, want)
			if err != nil {
				return err
			}
			got, err := pgx.CollectRows(rows, pgx.RowTo[int])
			if err != nil {
				return err
			}
			held = append(held, got...)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim shards of %s for %s: %w", c.Sweep, c.Node, err)
	}
	sort.Ints(held)
	return held, nil
}

// ReleaseShards implements store.Leases.
func (db *DB) ReleaseShards(ctx context.Context, sweep, node string) error {
	err := db.tx(ctx, "release shards", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE leases SET node = '', expires_at = '0001-01-01 00:00:00+00'
			WHERE sweep = $1 AND node = $2`, sweep, node); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM lease_nodes WHERE sweep = $1 AND node = $2`, sweep, node)
		return err
	})
	if err != nil {
		return fmt.Errorf("release shards of %s for %s: %w", sweep, node, err)
	}
	return nil
}

// LeaseHolders implements store.Leases.
func (db *DB) LeaseHolders(ctx context.Context, sweep string, now time.Time) (map[string][]int, error) {
	out := map[string][]int{}
	err := db.idem(ctx, "lease holders", func(ctx context.Context) error {
		clear(out)
		rows, err := db.pool.Query(ctx, `SELECT node, -1 FROM lease_nodes WHERE sweep = $1 AND expires_at > $2
			UNION ALL SELECT node, shard FROM leases WHERE sweep = $1 AND node <> '' AND expires_at > $2
			ORDER BY 1, 2`, sweep, ts(now))
		if err != nil {
			return err
		}
		var node string
		var shard int
		_, err = pgx.ForEachRow(rows, []any{&node, &shard}, func() error {
			if shard < 0 { // a live node, holding shards or not
				if out[node] == nil {
					out[node] = []int{}
				}
				return nil
			}
			out[node] = append(out[node], shard)
			return nil
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("lease holders of %s: %w", sweep, err)
	}
	return out, nil
}
