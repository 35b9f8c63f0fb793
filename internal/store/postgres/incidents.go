package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
)

const incidentColumns = `id, key, title, severity, state, opened_at, updated_at, acked_by, acked_at, resolved_at`

func scanIncident(row pgx.Row) (vigie.Incident, error) {
	var in vigie.Incident
	var state string
	if err := row.Scan(&in.ID, &in.Key, &in.Title, &in.Severity, &state, &in.OpenedAt, &in.UpdatedAt, &in.AckedBy,
		&in.AckedAt, &in.ResolvedAt); err != nil {
		return in, err
	}
	in.State = vigie.IncidentState(state)
	in.OpenedAt, in.UpdatedAt, in.AckedAt, in.ResolvedAt = fromTS(in.OpenedAt), fromTS(in.UpdatedAt), fromTS(in.AckedAt), fromTS(in.ResolvedAt)
	return in, nil
}

// UpdateIncident implements store.Incidents, locking the row like
// UpdateAlert.
func (db *DB) UpdateIncident(ctx context.Context, id int64, fn func(in *vigie.Incident) error) (vigie.Incident, error) {
	var out vigie.Incident
	err := db.tx(ctx, "update incident", func(tx pgx.Tx) error {
		var in vigie.Incident
		if id != 0 {
			var err error
			in, err = scanIncident(tx.QueryRow(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = $1 FOR UPDATE`, id))
			if errors.Is(err, pgx.ErrNoRows) {
				return callerError{store.ErrNotFound}
			} else if err != nil {
				return err
			}
		}
		if err := fn(&in); err != nil {
			return callerError{err}
		}
		in.ID = id
		in.UpdatedAt = db.now().UTC()
		args := []any{txt(in.Key), txt(in.Title), int(in.Severity), txt(string(in.State)), ts(in.OpenedAt), ts(in.UpdatedAt),
			txt(in.AckedBy), ts(in.AckedAt), ts(in.ResolvedAt)}
		if id == 0 {
			if err := tx.QueryRow(ctx, `INSERT INTO incidents (key, title, severity, state, opened_at, updated_at,
				acked_by, acked_at, resolved_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`, args...).Scan(&in.ID); err != nil {
				return err
			}
		} else if _, err := tx.Exec(ctx, `UPDATE incidents SET key = $1, title = $2, severity = $3, state = $4,
				opened_at = $5, updated_at = $6, acked_by = $7, acked_at = $8, resolved_at = $9 WHERE id = $10`, append(args, id)...); err != nil {
			return err
		}
		out = in
		return nil
	})
	if err != nil {
		return vigie.Incident{}, fmt.Errorf("update incident %d: %w", id, err)
	}
	out.OpenedAt, out.UpdatedAt, out.AckedAt, out.ResolvedAt = ts(out.OpenedAt), ts(out.UpdatedAt), ts(out.AckedAt), ts(out.ResolvedAt)
	return out, nil
}

func (db *DB) oneIncident(ctx context.Context, what, query string, args ...any) (vigie.Incident, error) {
	var in vigie.Incident
	err := db.idem(ctx, what, func(ctx context.Context) error {
		var err error
		in, err = scanIncident(db.pool.QueryRow(ctx, query, args...))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return in, fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return in, fmt.Errorf("%s: %w", what, err)
	}
	return in, nil
}

// Incident implements store.Incidents.
func (db *DB) Incident(ctx context.Context, id int64) (vigie.Incident, error) {
	return db.oneIncident(ctx, fmt.Sprintf("incident %d", id), `SELECT `+incidentColumns+` FROM incidents WHERE id = $1`, id)
}

// OpenIncident implements store.Incidents.
func (db *DB) OpenIncident(ctx context.Context, key string) (vigie.Incident, error) {
	return db.oneIncident(ctx, fmt.Sprintf("open incident %q", key), `SELECT `+incidentColumns+` FROM incidents
		WHERE key = $1 AND state != $2 ORDER BY id DESC LIMIT 1`, txt(key), string(vigie.IncidentResolved))
}

// ListIncidents implements store.Incidents.
func (db *DB) ListIncidents(ctx context.Context, q store.IncidentQuery) ([]vigie.Incident, error) {
	var w where
	if len(q.States) > 0 {
		states := make([]string, len(q.States))
		for i, s := range q.States {
			states[i] = string(s)
		}
		w.add(`state = ANY(?)`, states)
	}
	query := `SELECT ` + incidentColumns + ` FROM incidents` + w.String() + ` ORDER BY id DESC LIMIT ` + w.next(limit(q.Limit, 1000))
	var out []vigie.Incident
	err := db.idem(ctx, "list incidents", func(ctx context.Context) error {
		rows, err := db.pool.Query(ctx, query, w.args...)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (vigie.Incident, error) { return scanIncident(r) })
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	return out, nil
}

// AddTimeline implements store.Incidents.
func (db *DB) AddTimeline(ctx context.Context, e vigie.TimelineEntry) (int64, error) {
	var id int64
	err := db.exec(ctx, "add timeline entry", func(ctx context.Context) error {
		return db.pool.QueryRow(ctx, `INSERT INTO timeline (incident_id, time, kind, actor, text, alert_id, data)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, e.IncidentID, ts(e.Time), txt(string(e.Kind)), txt(e.Actor),
			txt(e.Text), e.AlertID, txtMap(e.Data)).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("add timeline entry: %w", err)
	}
	return id, nil
}

// Timeline implements store.Incidents: oldest first.
func (db *DB) Timeline(ctx context.Context, incidentID int64) ([]vigie.TimelineEntry, error) {
	var out []vigie.TimelineEntry
	err := db.idem(ctx, "timeline", func(ctx context.Context) error {
		rows, err := db.pool.Query(ctx, `SELECT id, incident_id, time, kind, actor, text, alert_id, data FROM timeline
			WHERE incident_id = $1 ORDER BY time, id`, incidentID)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (vigie.TimelineEntry, error) {
			var e vigie.TimelineEntry
			var kind, data string
			err := r.Scan(&e.ID, &e.IncidentID, &e.Time, &kind, &e.Actor, &e.Text, &e.AlertID, &data)
			e.Time, e.Kind, e.Data = fromTS(e.Time), vigie.TimelineKind(kind), decodeMap(data)
			return e, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("timeline %d: %w", incidentID, err)
	}
	return out, nil
}
