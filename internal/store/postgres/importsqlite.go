package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	_ "modernc.org/sqlite" // the SQLite driver, to read the store being moved
)

// ImportTables are the tables ImportSQLite copies, in order. Leases are
// not copied: they only mean something while nodes run.
var ImportTables = []string{"alerts", "incidents", "findings", "timeline", "samples", "watch_state", "audit"}

// ErrNotEmpty is returned by ImportSQLite when the target already holds
// data.
var ErrNotEmpty = errors.New("the PostgreSQL database is not empty")

// ImportSQLite copies everything a SQLite store holds (alerts, findings,
// incidents, timelines, samples, watch state, audit log) into this
// database, keeping every id so that findings still point at their
// alerts and timelines at their incidents. It refuses a database that
// already holds any of it: a second run after a successful one changes
// nothing. The copy is one transaction: a failure leaves the target empty.
// The SQLite file is read in one read transaction, so a daemon still
// writing it is seen at one instant (stop it first, or the copy misses
// what it writes afterwards).
func (db *DB) ImportSQLite(ctx context.Context, path string) (map[string]int64, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("sqlite store: %w", err)
	}
	u := url.URL{Scheme: "file", OmitHost: true, Path: path, RawQuery: url.Values{"mode": {"ro"}, "_pragma": {"busy_timeout(10000)"}}.Encode()}
	src, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, fmt.Errorf("sqlite store %s: %w", path, err)
	}
	defer src.Close()
	src.SetMaxOpenConns(1)
	rtx, err := src.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("sqlite store %s: %w", path, err)
	}
	defer rtx.Rollback()
	var version int
	if err := rtx.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&version); err != nil {
		return nil, fmt.Errorf("sqlite store %s: not a vigie store (%v)", path, err)
	}

	counts := map[string]int64{}
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		// Other writers wait until the copy is done or failed.
		if _, err := tx.Exec(ctx, `LOCK TABLE `+strings.Join(ImportTables, ", ")+` IN EXCLUSIVE MODE`); err != nil {
			return err
		}
		var held []string
		for _, t := range ImportTables {
			var n int64
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+t).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				held = append(held, fmt.Sprintf("%d %s", n, t))
			}
		}
		if len(held) > 0 {
			return fmt.Errorf("%w: it holds %s. vigie store migrate copies into an empty database only (so running it twice "+
				"copies nothing twice): if this is an earlier copy, it is done; else create a new database and point --to at it",
				ErrNotEmpty, strings.Join(held, ", "))
		}
		for _, t := range imports {
			n, err := copyTable(ctx, rtx, tx, t)
			if err != nil {
				return fmt.Errorf("copying %s: %w", t.name, err)
			}
			counts[t.name] = n
			if t.id {
				if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence('`+t.name+`', 'id'), coalesce(max(id), 0) + 1, false) FROM `+t.name); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return counts, nil
}

// A column's conversion from its SQLite form to its PostgreSQL one.
type conv int

const (
	asIs   conv = iota
	asText      // attacker-controlled text: see txt
	asTime      // Unix nanoseconds, 0 for never
	asBool      // 0 or 1
)

type importTable struct {
	name string
	id   bool // has an identity id column to move past the copied ids
	cols []string
	conv []conv
}

var imports = []importTable{
	{"alerts", true, []string{"id", "key", "grp", "watch", "rule", "subject", "severity", "state", "summary", "evidence", "first_seen",
		"last_seen", "count", "acked_by", "acked_at", "resolved_at", "resolve_after", "incident_id", "node", "updated_at"},
		[]conv{asIs, asText, asText, asText, asText, asText, asIs, asText, asText, asText, asTime, asTime, asIs, asText, asTime, asTime,
			asIs, asIs, asText, asTime}},
	{"incidents", true, []string{"id", "key", "title", "severity", "state", "opened_at", "updated_at", "acked_by", "acked_at", "resolved_at"},
		[]conv{asIs, asText, asText, asIs, asText, asTime, asTime, asText, asTime, asTime}},
	{"findings", true, []string{"id", "alert_id", "watch", "rule", "subject", "key", "grp", "severity", "time", "summary", "evidence",
		"resolved", "node"},
		[]conv{asIs, asIs, asText, asText, asText, asText, asText, asIs, asTime, asText, asText, asBool, asText}},
	{"timeline", true, []string{"id", "incident_id", "time", "kind", "actor", "text", "alert_id", "data"},
		[]conv{asIs, asIs, asTime, asText, asText, asText, asIs, asText}},
	{"samples", false, []string{"series", "subject", "time", "value"}, []conv{asText, asText, asTime, asIs}},
	{"watch_state", false, []string{"watch", "key", "value", "updated_at"}, []conv{asText, asText, asIs, asTime}},
	{"audit", true, []string{"id", "time", "actor", "action", "target", "detail", "result"},
		[]conv{asIs, asTime, asText, asText, asText, asText, asText}},
}

func copyTable(ctx context.Context, src *sql.Tx, dst pgx.Tx, t importTable) (int64, error) {
	rows, err := src.QueryContext(ctx, `SELECT `+strings.Join(t.cols, ", ")+` FROM `+t.name)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	vals := make([]any, len(t.cols))
	ptrs := make([]any, len(t.cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	out := make([]any, len(t.cols))
	var scanErr error
	n, err := dst.CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, pgx.CopyFromFunc(func() ([]any, error) {
		if !rows.Next() {
			return nil, rows.Err()
		}
		if err := rows.Scan(ptrs...); err != nil {
			scanErr = err
			return nil, err
		}
		for i, v := range vals {
			out[i] = convert(v, t.conv[i])
		}
		return out, nil
	}))
	if scanErr != nil {
		return n, scanErr
	}
	return n, err
}

func convert(v any, c conv) any {
	switch c {
	case asText:
		switch s := v.(type) {
		case string:
			return txt(s)
		case []byte:
			return txt(string(s))
		}
	case asTime:
		if n, ok := v.(int64); ok {
			if n == 0 {
				return time.Time{}
			}
			return time.Unix(0, n).UTC()
		}
	case asBool:
		if n, ok := v.(int64); ok {
			return n != 0
		}
	}
	if s, ok := v.(string); ok && c == asIs {
		return []byte(s) // watch_state.value: a BLOB that came back as text
	}
	return v
}
