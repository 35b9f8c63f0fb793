// Package storetest is the contract every store.Store implementation must
// pass. An implementation's test calls Run with a function that creates an
// empty store and can reopen it on the same data.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
)

// New creates an empty store for one test. reopen opens a new handle on
// the same data and closes nothing: a test either closes s first (a
// restart) or keeps both open (two nodes on one database).
type New func(t *testing.T) (s store.Store, reopen func() store.Store)

// Run runs the whole contract.
func Run(t *testing.T, newStore New) {
	tests := []struct {
		name string
		fn   func(t *testing.T, newStore New)
	}{
		{"AlertCreateAndUpdate", testAlertCreateAndUpdate},
		{"AlertNoChange", testAlertNoChange},
		{"AlertConcurrentCounts", testAlertConcurrentCounts},
		{"AlertQueries", testAlertQueries},
		{"HostileText", testHostileText},
		{"Findings", testFindings},
		{"Incidents", testIncidents},
		{"Timeline", testTimeline},
		{"Samples", testSamples},
		{"State", testState},
		{"Audit", testAudit},
		{"Reopen", testReopen},
		{"Leases", testLeases},
		{"LeasesConverge", testLeasesConverge},
		{"LeasesConcurrent", testLeasesConcurrent},
		{"AlertTwoHandles", testAlertTwoHandles},
		{"Outbox", testOutbox},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newStore) })
	}
}

// base is a fixed time with microsecond precision, which every backend keeps.
var base = time.Date(2024, 9, 29, 13, 0, 0, 123456000, time.UTC)

func open(t *testing.T, newStore New) store.Store {
	t.Helper()
	s, _ := newStore(t)
	t.Cleanup(func() { s.Close() })
	return s
}

func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func fire(key string, at time.Time) func(a *vigie.Alert) error {
	return func(a *vigie.Alert) error {
		if a.ID == 0 {
			a.Watch, a.Rule, a.Subject, a.Group = "mail", "account-volume", key, "g-"+key
			a.Severity, a.State, a.FirstSeen = vigie.SeverityWarning, vigie.AlertFiring, at
			a.ResolveAfter = time.Hour
		}
		a.LastSeen = at
		a.Count++
		a.Summary = fmt.Sprintf("seen %d times", a.Count)
		a.Evidence = map[string]string{"count": fmt.Sprint(a.Count)}
		return nil
	}
}

func testAlertCreateAndUpdate(t *testing.T, newStore New) {
	ctx := context.Background()
	s := open(t, newStore)
	a, err := s.UpdateAlert(ctx, "k1", fire("alice", base))
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == 0 || a.Key != "k1" || a.Count != 1 || a.State != vigie.AlertFiring {
		t.Fatalf("created alert = %+v", a)
	}
	b, err := s.UpdateAlert(ctx, "k1", fire("alice", base.Add(time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	if b.ID != a.ID || b.Count != 2 {
		t.Fatalf("updated alert = %+v, want id %d count 2", b, a.ID)
	}
	got, err := s.Alert(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameTime(t, "FirstSeen", got.FirstSeen, base)
	sameTime(t, "LastSeen", got.LastSeen, base.Add(time.Minute))
	if got.Watch != "mail" || got.Rule != "account-volume" || got.Subject != "alice" || got.Group != "g-alice" ||
		got.Severity != vigie.SeverityWarning || got.ResolveAfter != time.Hour || got.Summary != "seen 2 times" ||
		!reflect.DeepEqual(got.Evidence, map[string]string{"count": "2"}) {
		t.Errorf("stored alert = %+v", got)
	}
	if got.UpdatedAt.IsZero() {
		t.Error("UpdatedAt not set")
	}
	if _, err := s.Alert(ctx, a.ID+1000); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Alert(missing) error = %v, want ErrNotFound", err)
	}
}

func testAlertNoChange(t *testing.T, newStore New) {
	ctx := context.Background()
	s := open(t, newStore)
	if _, err := s.UpdateAlert(ctx, "k", fire("bob", base)); err != nil {
		t.Fatal(err)
	}
	_, err := s.UpdateAlert(ctx, "k", func(a *vigie.Alert) error {
		a.Count = 99
		return store.ErrNoChange
	})
	if !errors.Is(err, store.ErrNoChange) {
		t.Fatalf("error = %v, want ErrNoChange", err)
	}
	// A new key whose update is refused is not created either.
	if _, err := s.UpdateAlert(ctx, "new", func(a *vigie.Alert) error { return store.ErrNoChange }); !errors.Is(err, store.ErrNoChange) {
		t.Fatalf("error = %v, want ErrNoChange", err)
	}
	all, err := s.ListAlerts(ctx, store.AlertQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].Count != 1 {
		t.Fatalf("alerts after refused updates = %+v", all)
	}
}

func testAlertConcurrentCounts(t *testing.T, newStore New) {
	ctx := context.Background()
	s := open(t, newStore)
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if _, err := s.UpdateAlert(ctx, "shared", fire("carol", base)); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	all, err := s.ListAlerts(ctx, store.AlertQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].Count != workers*each {
		t.Fatalf("got %d alerts, count %d; want 1 alert with count %d", len(all), all[0].Count, workers*each)
	}
}

func testAlertQueries(t *testing.T, newStore New) {
	ctx := context.Background()
	s := open(t, newStore)
	mk := func(key, watch string, state vigie.AlertState, seen time.Time, incident int64) {
		t.Helper()
		_, err := s.UpdateAlert(ctx, key, func(a *vigie.Alert) error {
			a.Watch, a.Rule, a.Subject, a.Severity = watch, "r", key, vigie.SeverityInfo
			a.State, a.FirstSeen, a.LastSeen, a.Count, a.IncidentID = state, seen, seen, 1, incident
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	mk("a", "mail", vigie.AlertFiring, base, 1)
	mk("b", "dns", vigie.AlertFiring, base.Add(2*time.Minute), 2)
	mk("c", "mail", vigie.AlertResolved, base.Add(time.Minute), 1)
	mk("d", "mail", vigie.AlertAcknowledged, base.Add(3*time.Minute), 0)

	keys := func(q store.AlertQuery) []string {
		t.Helper()
		as, err := s.ListAlerts(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range as {
			out = append(out, a.Key)
		}
		return out
	}
	cases := []struct {
		name string
		q    store.AlertQuery
		want []string
	}{
		{"all, newest first", store.AlertQuery{}, []string{"d", "b", "c", "a"}},
		{"active", store.AlertQuery{States: []vigie.AlertState{vigie.AlertFiring, vigie.AlertAcknowledged}}, []string{"d", "b", "a"}},
		{"watch", store.AlertQuery{Watch: "mail"}, []string{"d", "c", "a"}},
		{"stale", store.AlertQuery{LastSeenBefore: base.Add(90 * time.Second)}, []string{"c", "a"}},
		{"incident", store.AlertQuery{IncidentID: 1}, []string{"c", "a"}},
		{"limit", store.AlertQuery{Limit: 2}, []string{"d", "b"}},
	}
	for _, c := range cases {
		if got := keys(c.q); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

// Attackers write senders, HELO names, TXT records: every byte must come
// back as it went in.
func testHostileText(t *testing.T, newStore New) {
	ctx := context.Background()
	s := open(t, newStore)
	hostile := "<script>alert(1)</script>'; DROP TABLE alerts; --\x01\u202e\"{}\\"
	a, err := s.UpdateAlert(ctx, hostile, func(a *vigie.Alert) error {
		a.Watch, a.Rule, a.Subject, a.Summary = "mail", "r", hostile, hostile
		a.Severity, a.State, a.Count = vigie.SeverityInfo, vigie.AlertFiring, 1
		a.Evidence = map[string]string{hostile: hostile}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Alert(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Key != hostile || got.Subject != hostile || got.Summary != hostile || got.Evidence[hostile] != hostile {
		t.Errorf("hostile text changed: %+v", got)
	}
	if err := s.PutState(ctx, "w", hostile, []byte(hostile)); err != nil {
		t.Fatal(err)
	}
	if v, err := s.GetState(ctx, "w", hostile); err != nil || string(v) != hostile {
		t.Errorf("state = %q, %v", v, err)
	}
}

func testFindings(t *testing.T, newStore New) {
	ctx := context.Background()
	s := open(t, newStore)
	for i := 0; i < 5; i++ {
		f := vigie.Finding{Watch: "mail", Rule: "r", Subject: "alice", Severity: vigie.SeverityWarning,
			Time: base.Add(time.Duration(i) * time.Minute), Summary: fmt.Sprint(i), Evidence: map[string]string{"i": fmt.Sprint(i)},
			Node: "n1", Key: "k", Group: "g"}
		alert := int64(1)
		if i == 4 {
			f.Watch, f.Resolved, alert = "dns", true, 2
		}
		if _, err := s.AddFinding(ctx, f, alert); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.ListFindings(ctx, store.FindingQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 5 || all[0].Summary != "4" || !all[0].Resolved || all[0].AlertID != 2 || all[1].Resolved {
		t.Fatalf("findings = %+v", all)
	}
	f := all[1]
	if f.Watch != "mail" || f.Rule != "r" || f.Subject != "alice" || f.Key != "k" || f.Group != "g" || f.Node != "n1" ||
		f.Severity != vigie.SeverityWarning || f.Evidence["i"] != "3" {
		t.Errorf("finding = %+v", f)
	}
	sameTime(t, "finding time", f.Time, base.Add(3*time.Minute))
	byAlert, _ := s.ListFindings(ctx, store.FindingQuery{AlertID: 1})
	byWatch, _ := s.ListFindings(ctx, store.FindingQuery{Watch: "dns"})
	since, _ := s.ListFindings(ctx, store.FindingQuery{Since: base.Add(2 * time.Minute)})
	limited, _ := s.ListFindings(ctx, store.FindingQuery{Limit: 2})
	if len(byAlert) != 4 || len(byWatch) != 1 || len(since) != 3 || len(limited) != 2 {
		t.Errorf("filters: alert %d watch %d since %d limit %d; want 4 1 3 2", len(byAlert), len(byWatch), len(since), len(limited))
	}
}

func testIncidents(t *testing.T, newStore New) {
	ctx := context.Background()
	s := open(t, newStore)
	if _, err := s.OpenIncident(ctx, "g"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("OpenIncident on empty store: %v", err)
	}
	in, err := s.UpdateIncident(ctx, 0, func(in *vigie.Incident) error {
		in.Key, in.Title, in.Severity, in.State, in.OpenedAt = "g", "Account alice", vigie.SeverityWarning, vigie.IncidentOpen, base
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if in.ID == 0 {
		t.Fatal("incident got no id")
	}
	open, err := s.OpenIncident(ctx, "g")
	if err != nil || open.ID != in.ID {
		t.Fatalf("OpenIncident = %+v, %v", open, err)
	}
	if _, err := s.UpdateIncident(ctx, in.ID, func(in *vigie.Incident) error {
		in.State, in.AckedBy, in.AckedAt = vigie.IncidentAcknowledged, "admin", base.Add(time.Minute)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Incident(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != vigie.IncidentAcknowledged || got.AckedBy != "admin" || got.Title != "Account alice" || got.Key != "g" {
		t.Errorf("incident = %+v", got)
	}
	sameTime(t, "OpenedAt", got.OpenedAt, base)
	sameTime(t, "AckedAt", got.AckedAt, base.Add(time.Minute))
	// Acknowledged still counts as open for grouping; resolved does not.
	if open, err := s.OpenIncident(ctx, "g"); err != nil || open.ID != in.ID {
		t.Errorf("OpenIncident(acknowledged) = %+v, %v", open, err)
	}
	if _, err := s.UpdateIncident(ctx, in.ID, func(in *vigie.Incident) error {
		in.State, in.ResolvedAt = vigie.IncidentResolved, base.Add(time.Hour)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.OpenIncident(ctx, "g"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("OpenIncident(resolved) error = %v, want ErrNotFound", err)
	}
	if _, err := s.UpdateIncident(ctx, 0, func(in *vigie.Incident) error {
		in.Key, in.State = "h", vigie.IncidentOpen
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	openOnes, _ := s.ListIncidents(ctx, store.IncidentQuery{States: []vigie.IncidentState{vigie.IncidentOpen}})
	all, _ := s.ListIncidents(ctx, store.IncidentQuery{})
	if len(openOnes) != 1 || openOnes[0].Key != "h" || len(all) != 2 || all[0].Key != "h" {
		t.Errorf("list: open %+v, all %+v", openOnes, all)
	}
	if _, err := s.Incident(ctx, 999); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Incident(missing) = %v", err)
	}
	if _, err := s.UpdateIncident(ctx, 999, func(*vigie.Incident) error { return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateIncident(missing) = %v", err)
	}
}

func testTimeline(t *testing.T, newStore New) {
	ctx := context.Background()
	s := open(t, newStore)
	add := func(incident int64, at time.Time, kind vigie.TimelineKind, text string) {
		t.Helper()
		if _, err := s.AddTimeline(ctx, vigie.TimelineEntry{IncidentID: incident, Time: at, Kind: kind, Actor: "vigie",
			Text: text, AlertID: 7, Data: map[string]string{"k": text}}); err != nil {
			t.Fatal(err)
		}
	}
	add(1, base.Add(2*time.Minute), vigie.TimelineAction, "held")
	add(1, base, vigie.TimelineFinding, "fired")
	add(2, base, vigie.TimelineNote, "other")
	add(1, base.Add(2*time.Minute), vigie.TimelineNote, "same time, later")
	tl, err := s.Timeline(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, e := range tl {
		texts = append(texts, e.Text)
	}
	if want := []string{"fired", "held", "same time, later"}; !reflect.DeepEqual(texts, want) {
		t.Fatalf("timeline = %v, want %v", texts, want)
	}
	if e := tl[1]; e.Kind != vigie.TimelineAction || e.Actor != "vigie" || e.AlertID != 7 || e.Data["k"] != "held" || e.IncidentID != 1 {
		t.Errorf("entry = %+v", e)
	}
}

func testSamples(t *testing.T, newStore New) {
	ctx := context.Background()
	s := open(t, newStore)
	var in []vigie.Sample
	for i := 0; i < 10; i++ {
		in = append(in, vigie.Sample{Series: "mail_queue", Subject: "deferred", Time: base.Add(time.Duration(i) * time.Minute), Value: float64(i) + 0.5})
	}
	in = append(in, vigie.Sample{Series: "mail_queue", Subject: "active", Time: base, Value: 3})
	if err := s.AddSamples(ctx, in); err != nil {
		t.Fatal(err)
	}
	if err := s.AddSamples(ctx, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.Samples(ctx, "mail_queue", "deferred", base.Add(2*time.Minute), base.Add(5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Value != 2.5 || got[2].Value != 4.5 {
		t.Fatalf("samples = %+v", got)
	}
	sameTime(t, "sample time", got[0].Time, base.Add(2*time.Minute))
	n, err := s.DeleteSamplesBefore(ctx, base.Add(5*time.Minute))
	if err != nil || n != 6 {
		t.Fatalf("deleted %d, %v; want 6", n, err)
	}
	left, _ := s.Samples(ctx, "mail_queue", "deferred", base, base.Add(time.Hour))
	if len(left) != 5 {
		t.Errorf("left %d samples, want 5", len(left))
	}
}

func testState(t *testing.T, newStore New) {
	ctx := context.Background()
	s := open(t, newStore)
	if _, err := s.GetState(ctx, "mail", "cursor"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing state error = %v", err)
	}
	bin := []byte{0, 1, 2, 0xff, 0xfe}
	if err := s.PutState(ctx, "mail", "cursor", bin); err != nil {
		t.Fatal(err)
	}
	if err := s.PutState(ctx, "dns", "cursor", []byte("other")); err != nil {
		t.Fatal(err)
	}
	if v, err := s.GetState(ctx, "mail", "cursor"); err != nil || !reflect.DeepEqual(v, bin) {
		t.Fatalf("state = %v, %v", v, err)
	}
	if err := s.PutState(ctx, "mail", "cursor", []byte("v2")); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.GetState(ctx, "mail", "cursor"); string(v) != "v2" {
		t.Errorf("overwritten state = %q", v)
	}
	if err := s.PutState(ctx, "mail", "empty", nil); err != nil {
		t.Fatal(err)
	}
	if v, err := s.GetState(ctx, "mail", "empty"); err != nil || len(v) != 0 {
		t.Errorf("empty state = %q, %v", v, err)
	}
	if err := s.DeleteState(ctx, "mail", "cursor"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetState(ctx, "mail", "cursor"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted state error = %v", err)
	}
	if v, _ := s.GetState(ctx, "dns", "cursor"); string(v) != "other" {
		t.Errorf("other watch's state = %q", v)
	}
}

func testAudit(t *testing.T, newStore New) {
	ctx := context.Background()
	s := open(t, newStore)
	entries := []vigie.AuditEntry{
		{Time: base, Actor: "admin", Action: "mail.hold", Target: "alice", Detail: "12 messages", Result: "ok"},
		{Time: base.Add(time.Minute), Actor: "vigie", Action: "mail.suspend", Target: "alice", Result: "ok"},
		{Time: base.Add(2 * time.Minute), Actor: "admin", Action: "alert.acknowledge", Target: "3", Result: "ok"},
	}
	for _, e := range entries {
		if _, err := s.AddAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.ListAudit(ctx, store.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 || all[0].Action != "alert.acknowledge" || all[2].Detail != "12 messages" || all[2].ID == 0 {
		t.Fatalf("audit = %+v", all)
	}
	sameTime(t, "audit time", all[2].Time, base)
	admin, _ := s.ListAudit(ctx, store.AuditQuery{Actor: "admin"})
	holds, _ := s.ListAudit(ctx, store.AuditQuery{Action: "mail.hold"})
	if len(admin) != 2 || len(holds) != 1 || holds[0].Target != "alice" {
		t.Errorf("filters: admin %d, holds %+v", len(admin), holds)
	}
}

func testReopen(t *testing.T, newStore New) {
	ctx := context.Background()
	s, reopen := newStore(t)
	a, err := s.UpdateAlert(ctx, "kept", fire("dave", base))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutState(ctx, "mail", "cursor", []byte("42")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := reopen()
	defer s2.Close()
	got, err := s2.Alert(ctx, a.ID)
	if err != nil || got.Key != "kept" || got.Count != 1 {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
	if v, err := s2.GetState(ctx, "mail", "cursor"); err != nil || string(v) != "42" {
		t.Fatalf("state after reopen: %q, %v", v, err)
	}
	// A second update after reopen continues the same alert.
	b, err := s2.UpdateAlert(ctx, "kept", fire("dave", base.Add(time.Minute)))
	if err != nil || b.ID != a.ID || b.Count != 2 {
		t.Fatalf("update after reopen: %+v, %v", b, err)
	}
}
