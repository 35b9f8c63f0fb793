package postgres

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"time"
)

// Lock implements store.Locker with session advisory locks, all held on
// one connection taken from the pool for as long as they are held (so a
// merge of many incidents needs one connection, not one per lock). They
// are taken in a fixed order, so two callers never wait for each other in
// a cycle. If the connection dies, PostgreSQL releases the locks: the
// holder's work is then no longer exclusive, but each of its writes is
// still atomic on its own, so the worst case is the one the lock exists to
// avoid (two incidents for one group), never a lost write.
func (db *DB) Lock(ctx context.Context, names ...string) (func(), error) {
	keys := make([]int64, 0, len(names))
	for _, n := range names {
		h := fnv.New64a()
		h.Write([]byte("vigie/lock/" + n))
		keys = append(keys, int64(h.Sum64()))
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	var unlock func()
	err := db.idem(ctx, "lock", func(ctx context.Context) error {
		conn, err := db.pool.Acquire(ctx)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, k); err != nil {
				// Whatever was taken goes with the session.
				conn.Conn().Close(context.Background())
				conn.Release()
				return err
			}
		}
		unlock = func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock_all()`); err != nil {
				// The session is gone (and its locks with it) or stuck:
				// do not give it back to the pool.
				conn.Conn().Close(ctx)
			}
			conn.Release()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("lock %q: %w", names, err)
	}
	return unlock, nil
}
