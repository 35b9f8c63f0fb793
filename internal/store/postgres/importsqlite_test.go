package postgres

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/alert"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/store/sqlite"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watches"
)

// fillStore writes a bit of everything through the real pipeline.
func fillStore(t *testing.T, s store.Store, at time.Time) {
	t.Helper()
	ctx := context.Background()
	now := at
	p := alert.New(alert.Options{Watches: watches.All(), Store: s, Node: "old-box", Now: func() time.Time { return now }})
	hostile := "<b>x</b>'; DROP TABLE alerts; --\u202e"
	for i := 0; i < 30; i++ {
		now = at.Add(time.Duration(i) * time.Second)
		if err := p.Emit(ctx, vigie.Finding{Watch: "mail", Rule: fmt.Sprintf("rule-%d", i%3), Subject: fmt.Sprintf("user%d", i%4),
			Severity: vigie.Severity(1 + i%3), Summary: hostile, Evidence: map[string]string{"n": fmt.Sprint(i), hostile: hostile}, Time: now}); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Emit(ctx, vigie.Finding{Watch: "mail", Rule: "rule-0", Subject: "user0", Resolved: true, Time: now}); err != nil {
		t.Fatal(err)
	}
	ins, err := s.ListIncidents(ctx, store.IncidentQuery{})
	if err != nil || len(ins) == 0 {
		t.Fatalf("incidents: %v, %v", ins, err)
	}
	if _, err := p.AcknowledgeIncident(ctx, ins[0].ID, "admin"); err != nil {
		t.Fatal(err)
	}
	if err := p.AddNote(ctx, ins[0].ID, "admin", "called the member"); err != nil {
		t.Fatal(err)
	}
	var samples []vigie.Sample
	for i := 0; i < 50; i++ {
		samples = append(samples, vigie.Sample{Series: "mail_queue", Subject: "deferred", Time: at.Add(time.Duration(i) * time.Minute), Value: float64(i) / 3})
	}
	if err := s.AddSamples(ctx, samples); err != nil {
		t.Fatal(err)
	}
	if err := s.PutState(ctx, "mail", "cursor", []byte{0, 1, 0xff}); err != nil {
		t.Fatal(err)
	}
}

// snapshot reads back everything through the Store interface.
type snapshot struct {
	Alerts    []vigie.Alert
	Incidents []vigie.Incident
	Findings  []store.StoredFinding
	Timelines map[int64][]vigie.TimelineEntry
	Samples   []vigie.Sample
	State     []byte
	Audit     []vigie.AuditEntry
}

func snap(t *testing.T, s store.Store, at time.Time) snapshot {
	t.Helper()
	ctx := context.Background()
	var sn snapshot
	var err error
	if sn.Alerts, err = s.ListAlerts(ctx, store.AlertQuery{}); err != nil {
		t.Fatal(err)
	}
	if sn.Incidents, err = s.ListIncidents(ctx, store.IncidentQuery{}); err != nil {
		t.Fatal(err)
	}
	if sn.Findings, err = s.ListFindings(ctx, store.FindingQuery{Limit: 1000}); err != nil {
		t.Fatal(err)
	}
	sn.Timelines = map[int64][]vigie.TimelineEntry{}
	for _, in := range sn.Incidents {
		if sn.Timelines[in.ID], err = s.Timeline(ctx, in.ID); err != nil {
			t.Fatal(err)
		}
	}
	if sn.Samples, err = s.Samples(ctx, "mail_queue", "deferred", at, at.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if sn.State, err = s.GetState(ctx, "mail", "cursor"); err != nil {
		t.Fatal(err)
	}
	if sn.Audit, err = s.ListAudit(ctx, store.AuditQuery{}); err != nil {
		t.Fatal(err)
	}
	return sn
}

func TestImportSQLite(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2024, 9, 29, 13, 0, 0, 123456000, time.UTC)
	fixed := func() time.Time { return at.Add(time.Hour) }
	path := filepath.Join(t.TempDir(), "vigie.db")
	src, err := sqlite.Open(ctx, path, sqlite.Options{Now: fixed})
	if err != nil {
		t.Fatal(err)
	}
	fillStore(t, src, at)
	want := snap(t, src, at)
	src.Close()

	db := openDSN(t, pg.Database(t), Options{Now: fixed})
	defer db.Close()
	counts, err := db.ImportSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if counts["alerts"] != int64(len(want.Alerts)) || counts["findings"] != int64(len(want.Findings)) || counts["samples"] != 50 {
		t.Errorf("counts = %v", counts)
	}
	got := snap(t, db, at)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after the copy the stores differ:\n got %+v\nwant %+v", got, want)
	}
	// Twice: refused, nothing doubled.
	_, err = db.ImportSQLite(ctx, path)
	if !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("second import: %v, want ErrNotEmpty", err)
	}
	if again := snap(t, db, at); !reflect.DeepEqual(again, want) {
		t.Error("a refused import changed the target")
	}
	// New rows get ids after the copied ones.
	a, err := db.UpdateAlert(ctx, "new", func(a *vigie.Alert) error { a.Watch, a.State = "dns", vigie.AlertFiring; return nil })
	if err != nil {
		t.Fatal(err)
	}
	for _, old := range want.Alerts {
		if a.ID <= old.ID {
			t.Fatalf("new alert id %d does not come after copied id %d", a.ID, old.ID)
		}
	}
	if _, err := db.ImportSQLite(ctx, filepath.Join(t.TempDir(), "nope.db")); err == nil {
		t.Error("a missing SQLite file was accepted")
	}
}
