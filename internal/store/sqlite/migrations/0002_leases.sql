-- Split sweeps: shard s of sweep w is held by node until expires_at (Unix
-- nanoseconds; node '' : free). See store.Leases.
CREATE TABLE leases (
	sweep      TEXT    NOT NULL,
	shard      INTEGER NOT NULL,
	node       TEXT    NOT NULL,
	expires_at INTEGER NOT NULL,
	PRIMARY KEY (sweep, shard)
) WITHOUT ROWID;
