package postgres

import (
	"context"
	"fmt"
	"hash/fnv"
)

// Lock implements store.Locker with a session advisory lock held on a
// connection taken from the pool for as long as the lock is held. If that
// connection dies, PostgreSQL releases the lock: the holder's work is
// then no longer exclusive, but every write it does is still atomic on
// its own, so the worst case is the one the lock exists to avoid (two
// incidents for one group), never a lost write.
func (db *DB) Lock(ctx context.Context, name string) (func(), error) {
	h := fnv.New64a()
	h.Write([]byte("vigie/lock/" + name))
	key := int64(h.Sum64())
	var unlock func()
	err := db.idem(ctx, "lock", func(ctx context.Context) error {
		conn, err := db.pool.Acquire(ctx)
		if err != nil {
			return err
		}
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, key); err != nil {
			conn.Release()
			return err
		}
		unlock = func() {
			if _, err := conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, key); err != nil {
				// The session is gone and its locks with it: do not give
				// the connection back to the pool.
				conn.Conn().Close(context.Background())
			}
			conn.Release()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("lock %q: %w", name, err)
	}
	return unlock, nil
}
