-- The policy server's sliding windows, shared by the nodes: one row per
-- node, subject, window and slot, each node writing only its own rows
-- (absolute counts), every node reading the others'.
CREATE TABLE policy_counts (
	node       text        NOT NULL,
	subject    bytea       NOT NULL,
	window_ns  bigint      NOT NULL,
	slot       bigint      NOT NULL,
	messages   bigint      NOT NULL,
	recipients bigint      NOT NULL,
	expires_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (node, subject, window_ns, slot)
);
CREATE INDEX policy_counts_updated ON policy_counts (updated_at);
CREATE INDEX policy_counts_expires ON policy_counts (expires_at);
