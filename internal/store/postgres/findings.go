package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
)

// AddFinding implements store.Findings.
func (db *DB) AddFinding(ctx context.Context, f vigie.Finding, alertID int64) (int64, error) {
	var id int64
	err := db.exec(ctx, "add finding", func(ctx context.Context) error {
		return db.pool.QueryRow(ctx, `INSERT INTO findings (alert_id, watch, rule, subject, key, grp, severity, time,
			summary, evidence, resolved, node) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
			alertID, txt(f.Watch), txt(f.Rule), txt(f.Subject), txt(f.Key), txt(f.Group), int(f.Severity), ts(f.Time),
			txt(f.Summary), txtMap(f.Evidence), f.Resolved, txt(f.Node)).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("add finding: %w", err)
	}
	return id, nil
}

// ListFindings implements store.Findings.
func (db *DB) ListFindings(ctx context.Context, q store.FindingQuery) ([]store.StoredFinding, error) {
	var w where
	if q.AlertID != 0 {
		w.add(`alert_id = ?`, q.AlertID)
	}
	if q.Watch != "" {
		w.add(`watch = ?`, txt(q.Watch))
	}
	if !q.Since.IsZero() {
		w.add(`time >= ?`, ts(q.Since))
	}
	query := `SELECT id, alert_id, watch, rule, subject, key, grp, severity, time, summary, evidence, resolved, node
		FROM findings` + w.String() + ` ORDER BY time DESC, id DESC LIMIT ` + w.next(limit(q.Limit, 100))
	var out []store.StoredFinding
	err := db.idem(ctx, "list findings", func(ctx context.Context) error {
		rows, err := db.pool.Query(ctx, query, w.args...)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.StoredFinding, error) {
			var f store.StoredFinding
			var evidence string
			err := r.Scan(&f.ID, &f.AlertID, &f.Watch, &f.Rule, &f.Subject, &f.Key, &f.Group, &f.Severity, &f.Time,
				&f.Summary, &evidence, &f.Resolved, &f.Node)
			f.Time, f.Evidence = fromTS(f.Time), decodeMap(evidence)
			return f, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list findings: %w", err)
	}
	return out, nil
}
