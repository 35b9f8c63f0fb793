package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
)

// AddFinding implements store.Findings.
func (db *DB) AddFinding(ctx context.Context, f vigie.Finding, alertID int64) (int64, error) {
	res, err := db.w.ExecContext(ctx, `INSERT INTO findings (alert_id, watch, rule, subject, key, grp, severity, time,
		summary, evidence, resolved, node) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		alertID, f.Watch, f.Rule, f.Subject, f.Key, f.Group, f.Severity, ts(f.Time), f.Summary, encodeMap(f.Evidence),
		boolInt(f.Resolved), f.Node)
	if err != nil {
		return 0, fmt.Errorf("add finding: %w", err)
	}
	return res.LastInsertId()
}

// ListFindings implements store.Findings.
func (db *DB) ListFindings(ctx context.Context, q store.FindingQuery) ([]store.StoredFinding, error) {
	var where []string
	var args []any
	if q.AlertID != 0 {
		where = append(where, `alert_id = ?`)
		args = append(args, q.AlertID)
	}
	if q.Watch != "" {
		where = append(where, `watch = ?`)
		args = append(args, q.Watch)
	}
	if !q.Since.IsZero() {
		where = append(where, `time >= ?`)
		args = append(args, ts(q.Since))
	}
	query := `SELECT id, alert_id, watch, rule, subject, key, grp, severity, time, summary, evidence, resolved, node FROM findings`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	query += ` ORDER BY time DESC, id DESC LIMIT ?`
	args = append(args, limit(q.Limit, 100))
	rows, err := db.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list findings: %w", err)
	}
	defer rows.Close()
	var out []store.StoredFinding
	for rows.Next() {
		var f store.StoredFinding
		var t int64
		var evidence string
		var resolved int
		if err := rows.Scan(&f.ID, &f.AlertID, &f.Watch, &f.Rule, &f.Subject, &f.Key, &f.Group, &f.Severity, &t,
			&f.Summary, &evidence, &resolved, &f.Node); err != nil {
			return nil, fmt.Errorf("list findings: %w", err)
		}
		f.Time, f.Evidence, f.Resolved = fromTS(t), decodeMap(evidence), resolved != 0
		out = append(out, f)
	}
	return out, rows.Err()
}
