package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
)

const incidentColumns = `id, key, title, severity, state, opened_at, updated_at, acked_by, acked_at, resolved_at`

func scanIncident(row scanner) (vigie.Incident, error) {
	var in vigie.Incident
	var state string
	var opened, updated, acked, resolved int64
	if err := row.Scan(&in.ID, &in.Key, &in.Title, &in.Severity, &state, &opened, &updated, &in.AckedBy, &acked, &resolved); err != nil {
		return in, err
	}
	in.State = vigie.IncidentState(state)
	in.OpenedAt, in.UpdatedAt, in.AckedAt, in.ResolvedAt = fromTS(opened), fromTS(updated), fromTS(acked), fromTS(resolved)
	return in, nil
}

// UpdateIncident implements store.Incidents.
func (db *DB) UpdateIncident(ctx context.Context, id int64, fn func(in *vigie.Incident) error) (vigie.Incident, error) {
	var out vigie.Incident
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var in vigie.Incident
		if id != 0 {
			var err error
			in, err = scanIncident(tx.QueryRowContext(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = ?`, id))
			if errors.Is(err, sql.ErrNoRows) {
				return store.ErrNotFound
			} else if err != nil {
				return err
			}
		}
		if err := fn(&in); err != nil {
			return err
		}
		in.ID = id
		in.UpdatedAt = db.now().UTC()
		args := []any{in.Key, in.Title, in.Severity, string(in.State), ts(in.OpenedAt), ts(in.UpdatedAt), in.AckedBy,
			ts(in.AckedAt), ts(in.ResolvedAt)}
		if id == 0 {
			res, err := tx.ExecContext(ctx, `INSERT INTO incidents (key, title, severity, state, opened_at, updated_at,
				acked_by, acked_at, resolved_at) VALUES (`+placeholders(len(args))+`)`, args...)
			if err != nil {
				return err
			}
			if in.ID, err = res.LastInsertId(); err != nil {
				return err
			}
		} else if _, err := tx.ExecContext(ctx, `UPDATE incidents SET key = ?, title = ?, severity = ?, state = ?,
				opened_at = ?, updated_at = ?, acked_by = ?, acked_at = ?, resolved_at = ? WHERE id = ?`, append(args, id)...); err != nil {
			return err
		}
		out = in
		return nil
	})
	if err != nil {
		return vigie.Incident{}, fmt.Errorf("update incident %d: %w", id, err)
	}
	return out, nil
}

// Incident implements store.Incidents.
func (db *DB) Incident(ctx context.Context, id int64) (vigie.Incident, error) {
	in, err := scanIncident(db.r.QueryRowContext(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return in, fmt.Errorf("incident %d: %w", id, store.ErrNotFound)
	}
	return in, err
}

// OpenIncident implements store.Incidents. It reads through the writer so
// that a caller deciding whether to create an incident sees the latest one.
func (db *DB) OpenIncident(ctx context.Context, key string) (vigie.Incident, error) {
	in, err := scanIncident(db.w.QueryRowContext(ctx, `SELECT `+incidentColumns+` FROM incidents
		WHERE key = ? AND state != ? ORDER BY id DESC LIMIT 1`, key, string(vigie.IncidentResolved)))
	if errors.Is(err, sql.ErrNoRows) {
		return in, fmt.Errorf("open incident %q: %w", key, store.ErrNotFound)
	}
	return in, err
}

// ListIncidents implements store.Incidents.
func (db *DB) ListIncidents(ctx context.Context, q store.IncidentQuery) ([]vigie.Incident, error) {
	query := `SELECT ` + incidentColumns + ` FROM incidents`
	var args []any
	if len(q.States) > 0 {
		query += ` WHERE state IN (` + placeholders(len(q.States)) + `)`
		for _, s := range q.States {
			args = append(args, string(s))
		}
	}
	query += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit(q.Limit, 1000))
	rows, err := db.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	defer rows.Close()
	var out []vigie.Incident
	for rows.Next() {
		in, err := scanIncident(rows)
		if err != nil {
			return nil, fmt.Errorf("list incidents: %w", err)
		}
		out = append(out, in)
	}
	return out, rows.Err()
}

// AddTimeline implements store.Incidents.
func (db *DB) AddTimeline(ctx context.Context, e vigie.TimelineEntry) (int64, error) {
	res, err := db.w.ExecContext(ctx, `INSERT INTO timeline (incident_id, time, kind, actor, text, alert_id, data)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, e.IncidentID, ts(e.Time), string(e.Kind), e.Actor, e.Text, e.AlertID, encodeMap(e.Data))
	if err != nil {
		return 0, fmt.Errorf("add timeline entry: %w", err)
	}
	return res.LastInsertId()
}

// Timeline implements store.Incidents: oldest first.
func (db *DB) Timeline(ctx context.Context, incidentID int64) ([]vigie.TimelineEntry, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, incident_id, time, kind, actor, text, alert_id, data FROM timeline
		WHERE incident_id = ? ORDER BY time, id`, incidentID)
	if err != nil {
		return nil, fmt.Errorf("timeline %d: %w", incidentID, err)
	}
	defer rows.Close()
	var out []vigie.TimelineEntry
	for rows.Next() {
		var e vigie.TimelineEntry
		var t int64
		var kind, data string
		if err := rows.Scan(&e.ID, &e.IncidentID, &t, &kind, &e.Actor, &e.Text, &e.AlertID, &data); err != nil {
			return nil, fmt.Errorf("timeline %d: %w", incidentID, err)
		}
		e.Time, e.Kind, e.Data = fromTS(t), vigie.TimelineKind(kind), decodeMap(data)
		out = append(out, e)
	}
	return out, rows.Err()
}
