package alert

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/notify"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/store/sqlite"
	"github.com/vigie/vigie/internal/vigie"
)

var t0 = time.Date(2024, 9, 29, 13, 0, 0, 0, time.UTC)

// recorder is a notifier that, at delivery time, reads the alert back from
// the store: that is how the test proves persistence comes first.
type recorder struct {
	name  string
	store store.Store
	mu    sync.Mutex
	got   []notify.Notification
	seen  []vigie.Alert // the stored alert at the moment of delivery
	fail  error
}

func (r *recorder) Name() string {
	if r.name == "" {
		return "recorder"
	}
	return r.name
}

func (r *recorder) Notify(ctx context.Context, m *notify.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	for _, n := range m.Notifications {
		stored, err := r.store.Alert(ctx, n.Alert.ID)
		if err != nil {
			return err
		}
		r.got = append(r.got, n)
		r.seen = append(r.seen, stored)
	}
	return nil
}

func (r *recorder) changes() []notify.Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []notify.Change
	for _, n := range r.got {
		out = append(out, n.Change)
	}
	return out
}

type fixture struct {
	p     *Pipeline
	store store.Store
	rec   *recorder
	now   time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "v.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{store: db, rec: &recorder{store: db}, now: t0}
	f.p = New(Options{Watches: shipped, Store: db, Notifiers: []notify.Notifier{f.rec}, Now: func() time.Time { return f.now },
		Node: "test", ResolveAfter: time.Hour,
		Dispatch: notify.DispatchOptions{GroupWait: time.Millisecond, MinInterval: time.Millisecond, Backoff: time.Millisecond, MaxAttempts: 3}})
	return f
}

func finding(subject string, sev vigie.Severity, at time.Time) vigie.Finding {
	return vigie.Finding{Watch: "mail", Rule: "account-volume", Subject: subject, Severity: sev, Time: at,
		Summary: subject + " sends too much", Evidence: map[string]string{"sent": "600"}}
}

func (f *fixture) emit(t *testing.T, fd vigie.Finding) {
	t.Helper()
	if err := f.p.Emit(context.Background(), fd); err != nil {
		t.Fatal(err)
	}
	f.p.Drain(time.Second)
}

func (f *fixture) alerts(t *testing.T) []vigie.Alert {
	t.Helper()
	as, err := f.store.ListAlerts(context.Background(), store.AlertQuery{})
	if err != nil {
		t.Fatal(err)
	}
	return as
}

func TestDedupByKey(t *testing.T) {
	f := newFixture(t)
	for i := 0; i < 5; i++ {
		f.emit(t, finding("alice", vigie.SeverityWarning, t0.Add(time.Duration(i)*time.Minute)))
	}
	f.emit(t, finding("bob", vigie.SeverityWarning, t0))
	as := f.alerts(t)
	if len(as) != 2 {
		t.Fatalf("%d alerts, want 2", len(as))
	}
	var alice vigie.Alert
	for _, a := range as {
		if a.Subject == "alice" {
			alice = a
		}
	}
	if alice.Count != 5 || !alice.FirstSeen.Equal(t0) || !alice.LastSeen.Equal(t0.Add(4*time.Minute)) || alice.Node != "test" {
		t.Errorf("alice = %+v", alice)
	}
	if got := f.rec.changes(); len(got) != 2 || got[0] != notify.Fired || got[1] != notify.Fired {
		t.Errorf("notifications = %v, want two fired", got)
	}
	fs, _ := f.store.ListFindings(context.Background(), store.FindingQuery{AlertID: alice.ID})
	if len(fs) != 5 {
		t.Errorf("%d findings stored for alice, want 5", len(fs))
	}
}

func TestPersistedBeforeNotified(t *testing.T) {
	f := newFixture(t)
	f.emit(t, finding("alice", vigie.SeverityWarning, t0))
	f.emit(t, finding("alice", vigie.SeverityCritical, t0.Add(time.Minute)))
	rs := finding("alice", 0, t0.Add(2*time.Minute))
	rs.Resolved = true
	f.emit(t, rs)
	if len(f.rec.seen) != 3 {
		t.Fatalf("%d deliveries, want 3 (fired, escalated, resolved)", len(f.rec.seen))
	}
	for i, n := range f.rec.got {
		stored := f.rec.seen[i]
		if stored.State != n.Alert.State || stored.Severity != n.Alert.Severity || stored.IncidentID != n.Alert.IncidentID || stored.IncidentID == 0 {
			t.Errorf("delivery %d (%s): notified %+v but store had %+v", i, n.Change, n.Alert, stored)
		}
	}
}

func TestStateChanges(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	resolvedFinding := func(at time.Time) vigie.Finding {
		fd := finding("alice", 0, at)
		fd.Resolved = true
		return fd
	}
	// A resolve for an unknown subject creates nothing.
	f.emit(t, resolvedFinding(t0))
	if len(f.alerts(t)) != 0 {
		t.Fatal("a resolved finding created an alert")
	}
	f.emit(t, finding("alice", vigie.SeverityWarning, t0))
	f.emit(t, finding("alice", vigie.SeverityInfo, t0.Add(time.Minute))) // lower: no change
	f.emit(t, finding("alice", vigie.SeverityCritical, t0.Add(2*time.Minute)))
	a := f.alerts(t)[0]
	if _, err := f.p.Acknowledge(ctx, a.ID, "admin"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.p.Acknowledge(ctx, a.ID, "admin"); err == nil {
		t.Error("acknowledging twice succeeded")
	}
	f.emit(t, resolvedFinding(t0.Add(3*time.Minute)))
	f.emit(t, resolvedFinding(t0.Add(4*time.Minute))) // already resolved: nothing
	f.emit(t, finding("alice", vigie.SeverityWarning, t0.Add(time.Hour)))
	want := []notify.Change{notify.Fired, notify.Escalated, notify.Resolved, notify.Refired}
	if got := f.rec.changes(); !equal(got, want) {
		t.Fatalf("changes = %v, want %v", got, want)
	}
	a = f.alerts(t)[0]
	if a.State != vigie.AlertFiring || a.Count != 4 || !a.FirstSeen.Equal(t0) || a.AckedBy != "" || !a.ResolvedAt.IsZero() {
		t.Errorf("after refire: %+v", a)
	}
	audit, _ := f.store.ListAudit(ctx, store.AuditQuery{Action: "alert.acknowledge"})
	if len(audit) != 2 || audit[1].Result != "ok" || audit[0].Result == "ok" {
		t.Errorf("audit = %+v", audit)
	}
	// The incident was resolved with the alert and re-opened when it came back.
	in, err := f.store.Incident(ctx, a.IncidentID)
	if err != nil || in.State != vigie.IncidentOpen || in.Severity != vigie.SeverityCritical {
		t.Fatalf("incident = %+v, %v", in, err)
	}
	tl, _ := f.store.Timeline(ctx, in.ID)
	var kinds []vigie.TimelineKind
	for _, e := range tl {
		if e.Kind != vigie.TimelineNotification {
			kinds = append(kinds, e.Kind)
		}
	}
	wantKinds := []vigie.TimelineKind{vigie.TimelineFinding, vigie.TimelineFinding, vigie.TimelineState, vigie.TimelineState,
		vigie.TimelineState, vigie.TimelineState, vigie.TimelineFinding}
	if len(kinds) != len(wantKinds) {
		for _, e := range tl {
			t.Logf("%s %s %s", e.Time.Format(time.TimeOnly), e.Kind, e.Text)
		}
		t.Fatalf("timeline kinds = %v, want %v", kinds, wantKinds)
	}
}

func TestIncidentGroupsAlertsOfOneGroup(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for i, d := range []string{"a.fr", "b.fr", "c.fr"} {
		f.emit(t, vigie.Finding{Watch: "dns", Rule: "ns", Subject: d, Group: "ns=rogue1,rogue2", Severity: vigie.SeverityCritical,
			Time: t0.Add(time.Duration(i) * time.Second), Summary: d + " NS changed"})
	}
	f.emit(t, vigie.Finding{Watch: "dns", Rule: "ns", Subject: "d.fr", Severity: vigie.SeverityCritical, Time: t0, Summary: "other"})
	ins, _ := f.store.ListIncidents(ctx, store.IncidentQuery{})
	if len(ins) != 2 {
		t.Fatalf("%d incidents, want 2", len(ins))
	}
	grouped, _ := f.store.ListAlerts(ctx, store.AlertQuery{IncidentID: ins[1].ID})
	if len(grouped) != 3 || ins[1].Key != "ns=rogue1,rogue2" {
		t.Errorf("incident %+v has %d alerts, want 3", ins[1], len(grouped))
	}
	// Resolving two of three keeps the incident open; the third closes it.
	for i, d := range []string{"a.fr", "b.fr", "c.fr"} {
		f.emit(t, vigie.Finding{Watch: "dns", Rule: "ns", Subject: d, Group: "ns=rogue1,rogue2", Resolved: true, Time: t0.Add(time.Hour)})
		in, _ := f.store.Incident(ctx, ins[1].ID)
		if wantResolved := i == 2; (in.State == vigie.IncidentResolved) != wantResolved {
			t.Errorf("after resolving %s: incident state %s", d, in.State)
		}
	}
}

func TestResolveStale(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.emit(t, finding("alice", vigie.SeverityWarning, t0))
	never := finding("bob", vigie.SeverityWarning, t0)
	never.ResolveAfter = -1
	f.emit(t, never)
	short := finding("carol", vigie.SeverityWarning, t0)
	short.ResolveAfter = 10 * time.Minute
	f.emit(t, short)

	f.now = t0.Add(30 * time.Minute)
	if n, err := f.p.ResolveStale(ctx); err != nil || n != 1 {
		t.Fatalf("resolved %d, %v; want carol only", n, err)
	}
	f.now = t0.Add(2 * time.Hour)
	if n, err := f.p.ResolveStale(ctx); err != nil || n != 1 {
		t.Fatalf("resolved %d, %v; want alice only", n, err)
	}
	for _, a := range f.alerts(t) {
		if wantActive := a.Subject == "bob"; a.State.Active() != wantActive {
			t.Errorf("%s is %s", a.Subject, a.State)
		}
	}
}

func TestInvalidFindingRefused(t *testing.T) {
	f := newFixture(t)
	if err := f.p.Emit(context.Background(), vigie.Finding{Watch: "mail"}); err == nil {
		t.Fatal("empty finding accepted")
	}
	if len(f.alerts(t)) != 0 {
		t.Error("invalid finding created an alert")
	}
}

func TestFailedDeliveryIsRecorded(t *testing.T) {
	f := newFixture(t)
	f.rec.fail = errors.New("receiver down")
	f.emit(t, finding("alice", vigie.SeverityWarning, t0))
	a := f.alerts(t)[0]
	tl, _ := f.store.Timeline(context.Background(), a.IncidentID)
	var texts []string
	for _, e := range tl {
		if e.Kind == vigie.TimelineNotification && e.Actor == "recorder" {
			texts = append(texts, e.Text)
		}
	}
	want := []string{"notifying recorder failed (attempt 1): receiver down; retrying in 1ms",
		"notifying recorder failed (attempt 2): receiver down; retrying in 2ms",
		"notifying recorder failed, given up after attempt 3: receiver down"}
	if !equal(texts, want) {
		t.Errorf("delivery timeline = %q, want %q", texts, want)
	}
}

func TestConcurrentEmitters(t *testing.T) {
	f := newFixture(t)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				if err := f.p.Emit(context.Background(), finding("alice", vigie.SeverityWarning, t0)); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	as := f.alerts(t)
	ins, _ := f.store.ListIncidents(context.Background(), store.IncidentQuery{})
	if len(as) != 1 || as[0].Count != 80 || len(ins) != 1 {
		t.Errorf("alerts %+v, %d incidents", as, len(ins))
	}
}

func TestRunDrainsOnStop(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- f.p.Run(ctx, time.Hour, time.Second) }()
	if err := f.p.Emit(context.Background(), finding("alice", vigie.SeverityWarning, t0)); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-done
	if got := f.rec.changes(); len(got) != 1 {
		t.Errorf("delivered %v after stop, want the queued fired notification", got)
	}
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
