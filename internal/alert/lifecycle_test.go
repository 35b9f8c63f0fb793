package alert

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/notify"
	"github.com/vigie/vigie/internal/notify/webhook"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/store/sqlite"
	"github.com/vigie/vigie/internal/vigie"
)

func timelineTexts(t *testing.T, s store.Store, id int64, kinds ...vigie.TimelineKind) []string {
	t.Helper()
	tl, err := s.Timeline(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range tl {
		for _, k := range kinds {
			if e.Kind == k {
				out = append(out, e.Actor+": "+e.Text)
			}
		}
	}
	return out
}

func TestIncidentAcknowledgeResolveReopen(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.emit(t, mailFinding("account-volume", "alice", t0))
	f.emit(t, mailFinding("many-ips", "alice", t0.Add(time.Minute)))
	id := f.incidentOf(t, "mail/account-volume/alice")

	f.now = t0.Add(10 * time.Minute)
	in, err := f.p.AcknowledgeIncident(ctx, id, "root")
	if err != nil || in.State != vigie.IncidentAcknowledged || in.AckedBy != "root" || !in.AckedAt.Equal(f.now) {
		t.Fatalf("ack: %+v, %v", in, err)
	}
	for _, a := range f.alerts(t) {
		if a.State != vigie.AlertAcknowledged || a.AckedBy != "root" {
			t.Errorf("alert %s is %s by %q", a.Key, a.State, a.AckedBy)
		}
	}
	if _, err := f.p.AcknowledgeIncident(ctx, id, "root"); err == nil {
		t.Error("acknowledged twice")
	}
	if err := f.p.AddNote(ctx, id, "root", "called the member: the password was on an old WordPress"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.p.RecordAction(ctx, Action{Actor: "root", Name: "mail.hold", Target: "alice", Detail: "held 412 messages",
		Group: AccountGroup("alice")}); err != nil {
		t.Fatal(err)
	}
	f.now = t0.Add(20 * time.Minute)
	in, err = f.p.ResolveIncident(ctx, id, "root", "password changed")
	if err != nil || in.State != vigie.IncidentResolved || !in.ResolvedAt.Equal(f.now) {
		t.Fatalf("resolve: %+v, %v", in, err)
	}
	f.p.Drain(time.Second)
	for _, a := range f.alerts(t) {
		if a.State != vigie.AlertResolved {
			t.Errorf("alert %s is %s after the incident was resolved", a.Key, a.State)
		}
	}
	if got := f.rec.changes(); len(got) != 4 || got[2] != notify.Resolved || got[3] != notify.Resolved {
		t.Errorf("notifications = %v, want 2 fired then 2 resolved", got)
	}
	// The same thing comes back: the incident opens again.
	f.emit(t, mailFinding("account-volume", "alice", t0.Add(3*time.Hour)))
	if got := f.incidentOf(t, "mail/account-volume/alice"); got != id {
		t.Fatalf("came back in incident %d, want %d", got, id)
	}
	in, _ = f.store.Incident(ctx, id)
	if in.State != vigie.IncidentOpen || in.AckedBy != "" {
		t.Errorf("after coming back: %+v", in)
	}
	want := []string{
		"vigie: fired mail/account-volume alice: alice: account-volume",
		"vigie: fired mail/many-ips alice: alice: many-ips",
		"root: acknowledged by root (2 firing alerts)",
		"root: called the member: the password was on an old WordPress",
		"root: mail.hold alice: held 412 messages",
		"root: resolved by root (2 active alerts resolved with it): password changed",
		"vigie: incident re-opened: the same thing came back",
		"vigie: refired mail/account-volume alice: alice: account-volume",
	}
	got := timelineTexts(t, f.store, id, vigie.TimelineFinding, vigie.TimelineState, vigie.TimelineNote, vigie.TimelineAction)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("timeline:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	audit, _ := f.store.ListAudit(ctx, store.AuditQuery{Actor: "root"})
	var actions []string
	for i := len(audit) - 1; i >= 0; i-- {
		actions = append(actions, audit[i].Action+"="+audit[i].Result)
	}
	if strings.Join(actions, " ") != "incident.acknowledge=ok incident.acknowledge=update incident 1: incident 1 is acknowledged, only an open incident can be acknowledged "+
		"incident.note=ok mail.hold=ok incident.resolve=ok" {
		t.Errorf("audit = %v", actions)
	}
}

func TestActionWithoutIncidentIsAuditedOnly(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	id, err := f.p.RecordAction(ctx, Action{Actor: "vigie", Name: "mail.hold", Target: "nobody", Group: AccountGroup("nobody"), Err: errors.New("postsuper: exit 1")})
	if err != nil || id != 0 {
		t.Fatalf("id %d, %v", id, err)
	}
	audit, _ := f.store.ListAudit(ctx, store.AuditQuery{Action: "mail.hold"})
	if len(audit) != 1 || audit[0].Result != "postsuper: exit 1" {
		t.Errorf("audit = %+v", audit)
	}
}

func TestMergeAndSplit(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.emit(t, mailFinding("account-volume", "alice", t0))
	f.emit(t, mailFinding("account-volume", "bob", t0.Add(time.Minute)))
	f.emit(t, mailFinding("account-volume", "carol", t0.Add(2*time.Minute)))
	f.now = t0.Add(30 * time.Minute)
	a, b, c := f.incidentOf(t, "mail/account-volume/alice"), f.incidentOf(t, "mail/account-volume/bob"), f.incidentOf(t, "mail/account-volume/carol")
	if a == b || b == c {
		t.Fatal("the rules already grouped them")
	}
	in, err := f.p.Merge(ctx, a, []int64{b, c}, "root")
	if err != nil {
		t.Fatal(err)
	}
	if in.State != vigie.IncidentOpen {
		t.Errorf("merged incident = %+v", in)
	}
	for _, s := range []string{"alice", "bob", "carol"} {
		if got := f.incidentOf(t, "mail/account-volume/"+s); got != a {
			t.Errorf("%s in incident %d after merge, want %d", s, got, a)
		}
	}
	old, _ := f.store.Incident(ctx, b)
	if old.State != vigie.IncidentResolved {
		t.Errorf("merged-away incident is %s", old.State)
	}
	if _, err := f.p.Merge(ctx, a, []int64{b}, "root"); err == nil {
		t.Error("merged the same incident twice")
	}
	if _, err := f.p.Merge(ctx, a, []int64{a}, "root"); err == nil {
		t.Error("merged an incident into itself")
	}
	// A new rule for bob follows bob's group into the merged incident.
	f.emit(t, mailFinding("many-ips", "bob", t0.Add(time.Hour)))
	if got := f.incidentOf(t, "mail/many-ips/bob"); got != a {
		t.Errorf("new bob alert in incident %d, want %d", got, a)
	}
	tl := strings.Join(timelineTexts(t, f.store, a, vigie.TimelineFinding, vigie.TimelineState), "\n")
	for _, want := range []string{"vigie: [from #2] fired mail/account-volume bob", "root: root merged incidents #2, #3 into this one (2 alerts moved)"} {
		if !strings.Contains(tl, want) {
			t.Errorf("timeline lacks %q:\n%s", want, tl)
		}
	}

	// Split carol back out.
	f.now = t0.Add(90 * time.Minute)
	carol, _ := f.p.alertByKey(ctx, "mail/account-volume/carol")
	nw, err := f.p.Split(ctx, a, []int64{carol.ID}, "root")
	if err != nil {
		t.Fatal(err)
	}
	if got := f.incidentOf(t, "mail/account-volume/carol"); got != nw.ID || nw.ID == a {
		t.Errorf("carol in %d, new incident %d", got, nw.ID)
	}
	if tl := timelineTexts(t, f.store, nw.ID, vigie.TimelineFinding, vigie.TimelineState); len(tl) < 2 ||
		!strings.Contains(tl[0], "fired mail/account-volume carol") || !strings.Contains(tl[len(tl)-1], "split from incident #1 by root") {
		t.Errorf("new incident's timeline = %q", tl)
	}
	// Carol fires again while her new incident is open: she stays there.
	f.emit(t, mailFinding("account-volume", "carol", t0.Add(2*time.Hour)))
	if got := f.incidentOf(t, "mail/account-volume/carol"); got != nw.ID {
		t.Errorf("carol went back to %d", got)
	}
	all := f.alerts(t)
	var ids []int64
	for _, x := range all {
		if x.IncidentID == a {
			ids = append(ids, x.ID)
		}
	}
	if _, err := f.p.Split(ctx, a, ids, "root"); err == nil {
		t.Error("split every alert out")
	}
	audit, _ := f.store.ListAudit(ctx, store.AuditQuery{Actor: "root"})
	if len(audit) != 5 {
		t.Errorf("%d audit entries, want 5 (2 merges ok/failed x, 2 splits)", len(audit))
	}
}

func TestRoutesByWatchAndSeverity(t *testing.T) {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "v.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mk := func(name string) *recorder { return &recorder{store: db, name: name} }
	oncall, dnsteam, everyone := mk("oncall"), mk("dns-team"), mk("log")
	p := New(Options{Watches: shipped, Store: db, Notifiers: []notify.Notifier{oncall, dnsteam, everyone}, Now: func() time.Time { return t0 },
		Dispatch: notify.DispatchOptions{GroupWait: time.Millisecond},
		Routes: []Route{
			{MinSeverity: vigie.SeverityCritical, Notifiers: []string{"oncall"}},
			{Watches: []string{"dns", "ct"}, Notifiers: []string{"dns-team"}},
		}})
	ctx := context.Background()
	for _, fd := range []vigie.Finding{
		mailFinding("account-volume", "alice", t0), // critical mail
		{Watch: "mail", Rule: "queue", Subject: "queue", Severity: vigie.SeverityWarning, Time: t0},
		{Watch: "dns", Rule: "a", Subject: "a.fr", Severity: vigie.SeverityWarning, Time: t0},
		{Watch: "ct", Rule: "cert", Subject: "01", Severity: vigie.SeverityCritical, Time: t0},
	} {
		if err := p.Emit(ctx, fd); err != nil {
			t.Fatal(err)
		}
	}
	p.Drain(time.Second)
	subjects := func(r *recorder) string {
		var s []string
		for _, n := range r.got {
			s = append(s, n.Alert.Subject)
		}
		return strings.Join(s, ",")
	}
	for r, want := range map[*recorder]string{oncall: "alice,01", dnsteam: "a.fr,01", everyone: "alice,queue,a.fr,01"} {
		if got := subjects(r); got != want {
			t.Errorf("%s got %s, want %s", r.name, got, want)
		}
	}
}

// A slow receiver does not delay the others: each notifier has its own
// dispatcher.
func TestSlowNotifierDelaysNoOther(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer slow.Close()
	defer once.Do(func() { close(release) })
	got := make(chan struct{}, 10)
	quick := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got <- struct{}{} }))
	defer quick.Close()
	s, _ := webhook.New(webhook.Options{Name: "slow", URL: slow.URL})
	q, _ := webhook.New(webhook.Options{Name: "quick", URL: quick.URL})
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "v.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p := New(Options{Watches: shipped, Store: db, Notifiers: []notify.Notifier{s, q}, NotifyTimeout: time.Minute,
		Dispatch: notify.DispatchOptions{GroupWait: time.Millisecond, MinInterval: time.Millisecond}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx, time.Hour, time.Second); close(done) }()
	for _, subj := range []string{"alice", "bob"} {
		if err := p.Emit(ctx, mailFinding("account-volume", subj, t0)); err != nil {
			t.Fatal(err)
		}
		<-got // the quick receiver hears of each while the slow one still holds the first
	}
	once.Do(func() { close(release) })
	cancel()
	<-done
}

type refresher struct {
	recorder
	calls chan []vigie.Alert
}

func (r *refresher) Refresh(ctx context.Context, active []vigie.Alert) error {
	select {
	case r.calls <- active:
	default:
	}
	return nil
}

// Notifiers whose receivers forget (Alertmanager) get every active alert
// again at each check, through their routes.
func TestRunRefreshesActiveAlerts(t *testing.T) {
	f := newFixture(t)
	r := &refresher{recorder: recorder{store: f.store, name: "am"}, calls: make(chan []vigie.Alert, 1)}
	f.p = New(Options{Watches: shipped, Store: f.store, Notifiers: []notify.Notifier{r}, Now: func() time.Time { return f.now }, ResolveAfter: -1,
		Routes:   []Route{{Watches: []string{"mail"}, Notifiers: []string{"am"}}},
		Dispatch: notify.DispatchOptions{GroupWait: time.Millisecond}})
	f.emit(t, mailFinding("account-volume", "alice", t0))
	f.emit(t, vigie.Finding{Watch: "dns", Rule: "ns", Subject: "a.fr", Severity: vigie.SeverityWarning, Time: t0})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.p.Run(ctx, 5*time.Millisecond, time.Second); close(done) }()
	active := <-r.calls
	cancel()
	<-done
	if len(active) != 1 || active[0].Subject != "alice" {
		t.Errorf("refreshed %+v, want alice only (the route)", active)
	}
}
