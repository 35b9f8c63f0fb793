-- Times are Unix nanoseconds (UTC), 0 for "never". Maps are JSON text.

CREATE TABLE findings (
	id        INTEGER PRIMARY KEY,
	alert_id  INTEGER NOT NULL DEFAULT 0,
	watch     TEXT    NOT NULL,
	rule      TEXT    NOT NULL,
	subject   TEXT    NOT NULL,
	key       TEXT    NOT NULL,
	grp       TEXT    NOT NULL,
	severity  INTEGER NOT NULL,
	time      INTEGER NOT NULL,
	summary   TEXT    NOT NULL,
	evidence  TEXT    NOT NULL,
	resolved  INTEGER NOT NULL,
	node      TEXT    NOT NULL
);
CREATE INDEX findings_alert ON findings (alert_id, id);
CREATE INDEX findings_watch_time ON findings (watch, time);

CREATE TABLE alerts (
	id            INTEGER PRIMARY KEY,
	key           TEXT    NOT NULL UNIQUE,
	grp           TEXT    NOT NULL,
	watch         TEXT    NOT NULL,
	rule          TEXT    NOT NULL,
	subject       TEXT    NOT NULL,
	severity      INTEGER NOT NULL,
	state         TEXT    NOT NULL,
	summary       TEXT    NOT NULL,
	evidence      TEXT    NOT NULL,
	first_seen    INTEGER NOT NULL,
	last_seen     INTEGER NOT NULL,
	count         INTEGER NOT NULL,
	acked_by      TEXT    NOT NULL,
	acked_at      INTEGER NOT NULL,
	resolved_at   INTEGER NOT NULL,
	resolve_after INTEGER NOT NULL,
	incident_id   INTEGER NOT NULL,
	node          TEXT    NOT NULL,
	updated_at    INTEGER NOT NULL
);
CREATE INDEX alerts_state_seen ON alerts (state, last_seen);
CREATE INDEX alerts_incident ON alerts (incident_id);

CREATE TABLE incidents (
	id          INTEGER PRIMARY KEY,
	key         TEXT    NOT NULL,
	title       TEXT    NOT NULL,
	severity    INTEGER NOT NULL,
	state       TEXT    NOT NULL,
	opened_at   INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL,
	acked_by    TEXT    NOT NULL,
	acked_at    INTEGER NOT NULL,
	resolved_at INTEGER NOT NULL
);
CREATE INDEX incidents_key_state ON incidents (key, state);

CREATE TABLE timeline (
	id          INTEGER PRIMARY KEY,
	incident_id INTEGER NOT NULL,
	time        INTEGER NOT NULL,
	kind        TEXT    NOT NULL,
	actor       TEXT    NOT NULL,
	text        TEXT    NOT NULL,
	alert_id    INTEGER NOT NULL,
	data        TEXT    NOT NULL
);
CREATE INDEX timeline_incident ON timeline (incident_id, time, id);

CREATE TABLE samples (
	series  TEXT    NOT NULL,
	subject TEXT    NOT NULL,
	time    INTEGER NOT NULL,
	value   REAL    NOT NULL
);
CREATE INDEX samples_series ON samples (series, subject, time);
CREATE INDEX samples_time ON samples (time);

CREATE TABLE watch_state (
	watch      TEXT    NOT NULL,
	key        TEXT    NOT NULL,
	value      BLOB    NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (watch, key)
) WITHOUT ROWID;

CREATE TABLE audit (
	id     INTEGER PRIMARY KEY,
	time   INTEGER NOT NULL,
	actor  TEXT    NOT NULL,
	action TEXT    NOT NULL,
	target TEXT    NOT NULL,
	detail TEXT    NOT NULL,
	result TEXT    NOT NULL
);
CREATE INDEX audit_time ON audit (time);
