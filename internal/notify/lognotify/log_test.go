package lognotify

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/vigie/vigie/internal/notify"
	"github.com/vigie/vigie/internal/vigie"
)

func TestLogsAtOrAboveSeverity(t *testing.T) {
	var buf bytes.Buffer
	n := New(slog.New(slog.NewJSONHandler(&buf, nil)), vigie.SeverityWarning)
	ctx := context.Background()
	n.Notify(ctx, &notify.Message{Notifications: []notify.Notification{{Change: notify.Fired, Alert: vigie.Alert{Severity: vigie.SeverityInfo, Subject: "quiet"}}}})
	if buf.Len() != 0 {
		t.Fatalf("info alert logged below min severity: %s", buf.String())
	}
	hostile := "evil\nlevel=ERROR msg=forged"
	n.Notify(ctx, &notify.Message{Notifications: []notify.Notification{{Change: notify.Fired, Alert: vigie.Alert{Severity: vigie.SeverityCritical, Subject: hostile, Watch: "mail"}}}})
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("hostile subject split the log line: %q", buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["subject"] != hostile || rec["msg"] != "alert fired" || rec["severity"] != "critical" {
		t.Errorf("record = %v", rec)
	}
}
