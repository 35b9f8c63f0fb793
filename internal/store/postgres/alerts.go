package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
)

const alertColumns = `id, key, grp, watch, rule, subject, severity, state, summary, evidence,
	first_seen, last_seen, count, acked_by, acked_at, resolved_at, resolve_after, incident_id, node, updated_at`

func scanAlert(row pgx.Row) (vigie.Alert, error) {
	var a vigie.Alert
	var state, evidence string
	var resolveAfter int64
	err := row.Scan(&a.ID, &a.Key, &a.Group, &a.Watch, &a.Rule, &a.Subject, &a.Severity, &state, &a.Summary, &evidence,
		&a.FirstSeen, &a.LastSeen, &a.Count, &a.AckedBy, &a.AckedAt, &a.ResolvedAt, &resolveAfter, &a.IncidentID, &a.Node, &a.UpdatedAt)
	if err != nil {
		return a, err
	}
	a.State = vigie.AlertState(state)
	a.Evidence = decodeMap(evidence)
	a.FirstSeen, a.LastSeen = fromTS(a.FirstSeen), fromTS(a.LastSeen)
	a.AckedAt, a.ResolvedAt, a.UpdatedAt = fromTS(a.AckedAt), fromTS(a.ResolvedAt), fromTS(a.UpdatedAt)
	a.ResolveAfter = time.Duration(resolveAfter)
	return a, nil
}

// UpdateAlert implements store.Alerts.
func (db *DB) UpdateAlert(ctx context.Context, key string, fn func(a *vigie.Alert) error) (vigie.Alert, error) {
	return db.UpdateAlertNotify(ctx, key, fn, nil)
}

// UpdateAlertNotify implements store.Outbox. The row is locked (FOR UPDATE) for
// the transaction, so writers on every node take turns on one key. A key
// seen for the first time by two nodes at once is inserted by one; the
// other's INSERT ... ON CONFLICT DO NOTHING returns no row, and its
// transaction runs again and finds the row. fn may therefore run more than
// once; only its last run is saved.
func (db *DB) UpdateAlertNotify(ctx context.Context, key string, fn func(a *vigie.Alert) error,
	notify func(a vigie.Alert) []store.OutboxItem) (vigie.Alert, error) {
	var out vigie.Alert
	key = txt(key)
	err := db.tx(ctx, "update alert", func(tx pgx.Tx) error {
		a, err := scanAlert(tx.QueryRow(ctx, `SELECT `+alertColumns+` FROM alerts WHERE key = $1 FOR UPDATE`, key))
		if errors.Is(err, pgx.ErrNoRows) {
			a = vigie.Alert{Key: key}
		} else if err != nil {
			return err
		}
		id := a.ID
		if err := fn(&a); err != nil {
			return callerError{err}
		}
		a.ID, a.Key = id, key
		a.UpdatedAt = db.now().UTC()
		args := []any{txt(a.Group), txt(a.Watch), txt(a.Rule), txt(a.Subject), int(a.Severity), txt(string(a.State)), txt(a.Summary),
			txtMap(a.Evidence), ts(a.FirstSeen), ts(a.LastSeen), a.Count, txt(a.AckedBy), ts(a.AckedAt), ts(a.ResolvedAt),
			int64(a.ResolveAfter), a.IncidentID, txt(a.Node), ts(a.UpdatedAt)}
		if id == 0 {
			err := tx.QueryRow(ctx, `INSERT INTO alerts (key, grp, watch, rule, subject, severity, state, summary, evidence,
				first_seen, last_seen, count, acked_by, acked_at, resolved_at, resolve_after, incident_id, node, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
				ON CONFLICT (key) DO NOTHING RETURNING id`, append([]any{key}, args...)...).Scan(&a.ID)
			if errors.Is(err, pgx.ErrNoRows) {
				return errConflict
			}
			if err != nil {
				return err
			}
		} else if _, err := tx.Exec(ctx, `UPDATE alerts SET grp = $1, watch = $2, rule = $3, subject = $4, severity = $5,
				state = $6, summary = $7, evidence = $8, first_seen = $9, last_seen = $10, count = $11, acked_by = $12,
				acked_at = $13, resolved_at = $14, resolve_after = $15, incident_id = $16, node = $17, updated_at = $18
				WHERE id = $19`, append(args, id)...); err != nil {
			return err
		}
		if notify != nil {
			if err := insertOutbox(ctx, tx, notify(a)); err != nil {
				return err
			}
		}
		out = a
		return nil
	})
	if err != nil {
		return vigie.Alert{}, fmt.Errorf("update alert %q: %w", key, err)
	}
	out.FirstSeen, out.LastSeen, out.UpdatedAt = ts(out.FirstSeen), ts(out.LastSeen), ts(out.UpdatedAt)
	out.AckedAt, out.ResolvedAt = ts(out.AckedAt), ts(out.ResolvedAt)
	return out, nil
}

// Alert implements store.Alerts.
func (db *DB) Alert(ctx context.Context, id int64) (vigie.Alert, error) {
	var a vigie.Alert
	err := db.idem(ctx, "alert", func(ctx context.Context) error {
		var err error
		a, err = scanAlert(db.pool.QueryRow(ctx, `SELECT `+alertColumns+` FROM alerts WHERE id = $1`, id))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return a, fmt.Errorf("alert %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("alert %d: %w", id, err)
	}
	return a, nil
}

// ListAlerts implements store.Alerts.
func (db *DB) ListAlerts(ctx context.Context, q store.AlertQuery) ([]vigie.Alert, error) {
	var w where
	if len(q.States) > 0 {
		states := make([]string, len(q.States))
		for i, s := range q.States {
			states[i] = string(s)
		}
		w.add(`state = ANY(?)`, states)
	}
	if q.Watch != "" {
		w.add(`watch = ?`, txt(q.Watch))
	}
	if !q.LastSeenBefore.IsZero() {
		w.add(`last_seen < ?`, ts(q.LastSeenBefore))
	}
	if q.IncidentID != 0 {
		w.add(`incident_id = ?`, q.IncidentID)
	}
	query := `SELECT ` + alertColumns + ` FROM alerts` + w.String() + ` ORDER BY last_seen DESC, id DESC LIMIT ` + w.next(limit(q.Limit, 1000))
	var out []vigie.Alert
	err := db.idem(ctx, "list alerts", func(ctx context.Context) error {
		rows, err := db.pool.Query(ctx, query, w.args...)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (vigie.Alert, error) { return scanAlert(r) })
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	return out, nil
}
