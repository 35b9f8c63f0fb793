package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
)

const alertColumns = `id, key, grp, watch, rule, subject, severity, state, summary, evidence,
	first_seen, last_seen, count, acked_by, acked_at, resolved_at, resolve_after, incident_id, node, updated_at`

type scanner interface{ Scan(dest ...any) error }

func scanAlert(row scanner) (vigie.Alert, error) {
	var a vigie.Alert
	var state, evidence string
	var firstSeen, lastSeen, ackedAt, resolvedAt, resolveAfter, updatedAt int64
	err := row.Scan(&a.ID, &a.Key, &a.Group, &a.Watch, &a.Rule, &a.Subject, &a.Severity, &state, &a.Summary, &evidence,
		&firstSeen, &lastSeen, &a.Count, &a.AckedBy, &ackedAt, &resolvedAt, &resolveAfter, &a.IncidentID, &a.Node, &updatedAt)
	if err != nil {
		return a, err
	}
	a.State = vigie.AlertState(state)
	a.Evidence = decodeMap(evidence)
	a.FirstSeen, a.LastSeen = fromTS(firstSeen), fromTS(lastSeen)
	a.AckedAt, a.ResolvedAt, a.UpdatedAt = fromTS(ackedAt), fromTS(resolvedAt), fromTS(updatedAt)
	a.ResolveAfter = time.Duration(resolveAfter)
	return a, nil
}

// UpdateAlert implements store.Alerts.
func (db *DB) UpdateAlert(ctx context.Context, key string, fn func(a *vigie.Alert) error) (vigie.Alert, error) {
	return db.UpdateAlertNotify(ctx, key, fn, nil)
}

// UpdateAlertNotify implements store.Outbox.
func (db *DB) UpdateAlertNotify(ctx context.Context, key string, fn func(a *vigie.Alert) error,
	notify func(a vigie.Alert) []store.OutboxItem) (vigie.Alert, error) {
	var out vigie.Alert
	err := db.tx(ctx, func(tx *sql.Tx) error {
		a, err := scanAlert(tx.QueryRowContext(ctx, `SELECT `+alertColumns+` FROM alerts WHERE key = ?`, key))
		if errors.Is(err, sql.ErrNoRows) {
			a = vigie.Alert{Key: key}
		} else if err != nil {
			return err
		}
		id := a.ID
		if err := fn(&a); err != nil {
			return err
		}
		a.ID, a.Key = id, key
		a.UpdatedAt = db.now().UTC()
		args := []any{a.Group, a.Watch, a.Rule, a.Subject, a.Severity, string(a.State), a.Summary, encodeMap(a.Evidence),
			ts(a.FirstSeen), ts(a.LastSeen), a.Count, a.AckedBy, ts(a.AckedAt), ts(a.ResolvedAt), int64(a.ResolveAfter),
			a.IncidentID, a.Node, ts(a.UpdatedAt)}
		if id == 0 {
			res, err := tx.ExecContext(ctx, `INSERT INTO alerts (key, grp, watch, rule, subject, severity, state, summary, evidence,
				first_seen, last_seen, count, acked_by, acked_at, resolved_at, resolve_after, incident_id, node, updated_at)
				VALUES (?, `+placeholders(len(args))+`)`, append([]any{key}, args...)...)
			if err != nil {
				return err
			}
			a.ID, err = res.LastInsertId()
			if err != nil {
				return err
			}
		} else {
			_, err := tx.ExecContext(ctx, `UPDATE alerts SET grp = ?, watch = ?, rule = ?, subject = ?, severity = ?, state = ?,
				summary = ?, evidence = ?, first_seen = ?, last_seen = ?, count = ?, acked_by = ?, acked_at = ?, resolved_at = ?,
				resolve_after = ?, incident_id = ?, node = ?, updated_at = ? WHERE id = ?`, append(args, id)...)
			if err != nil {
				return err
			}
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
	return out, nil
}

// Alert implements store.Alerts.
func (db *DB) Alert(ctx context.Context, id int64) (vigie.Alert, error) {
	a, err := scanAlert(db.r.QueryRowContext(ctx, `SELECT `+alertColumns+` FROM alerts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("alert %d: %w", id, store.ErrNotFound)
	}
	return a, err
}

// ListAlerts implements store.Alerts.
func (db *DB) ListAlerts(ctx context.Context, q store.AlertQuery) ([]vigie.Alert, error) {
	var where []string
	var args []any
	if len(q.States) > 0 {
		where = append(where, `state IN (`+placeholders(len(q.States))+`)`)
		for _, s := range q.States {
			args = append(args, string(s))
		}
	}
	if q.Watch != "" {
		where = append(where, `watch = ?`)
		args = append(args, q.Watch)
	}
	if !q.LastSeenBefore.IsZero() {
		where = append(where, `last_seen < ?`)
		args = append(args, ts(q.LastSeenBefore))
	}
	if q.IncidentID != 0 {
		where = append(where, `incident_id = ?`)
		args = append(args, q.IncidentID)
	}
	query := `SELECT ` + alertColumns + ` FROM alerts`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	query += ` ORDER BY last_seen DESC, id DESC LIMIT ?`
	args = append(args, limit(q.Limit, 1000))
	rows, err := db.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	defer rows.Close()
	var out []vigie.Alert
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, fmt.Errorf("list alerts: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
