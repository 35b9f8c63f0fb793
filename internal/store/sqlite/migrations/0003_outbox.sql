-- The durable outbox: every notification is written here in the same
-- transaction as the alert change it tells about, and marked done when its
-- receiver accepted it (or it was given up). See store.Outbox.
CREATE TABLE outbox (
	id       INTEGER PRIMARY KEY AUTOINCREMENT,
	node     TEXT    NOT NULL,
	notifier TEXT    NOT NULL,
	key      TEXT    NOT NULL UNIQUE,
	created  INTEGER NOT NULL,
	payload  BLOB    NOT NULL,
	done     INTEGER NOT NULL DEFAULT 0,
	result   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX outbox_pending ON outbox (node, notifier, id) WHERE done = 0;
CREATE INDEX outbox_done ON outbox (done) WHERE done <> 0;
