-- The durable outbox: every notification is written here in the same
-- transaction as the alert change it tells about, and marked done when its
-- receiver accepted it (or it was given up). See store.Outbox.
CREATE TABLE outbox (
	id       bigserial   PRIMARY KEY,
	node     text        NOT NULL,
	notifier text        NOT NULL,
	key      text        NOT NULL UNIQUE,
	created  timestamptz NOT NULL,
	payload  bytea       NOT NULL,
	done     timestamptz,
	result   text        NOT NULL DEFAULT ''
);
CREATE INDEX outbox_pending ON outbox (node, notifier, id) WHERE done IS NULL;
CREATE INDEX outbox_done ON outbox (done) WHERE done IS NOT NULL;
