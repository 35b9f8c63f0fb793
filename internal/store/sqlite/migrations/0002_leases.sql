-- Split sweeps: shard s of sweep w is held by node until expires_at (Unix
-- nanoseconds; node '' : free). See store.Leases.
CREATE TABLE leases (
	sweep      TEXT    NOT NULL,
	shard      INTEGER NOT NULL,
	node       TEXT    NOT NULL,
	expires_at INTEGER NOT NULL,
	PRIMARY KEY (sweep, shard)
) WITHOUT ROWID;

-- The nodes taking part in a sweep, holding shards or not, until
-- expires_at: a node that just joined counts in everyone's fair share.
CREATE TABLE lease_nodes (
	sweep      TEXT    NOT NULL,
	node       TEXT    NOT NULL,
	expires_at INTEGER NOT NULL,
	PRIMARY KEY (sweep, node)
) WITHOUT ROWID;
