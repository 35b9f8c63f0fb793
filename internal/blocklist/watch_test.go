package blocklist

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/alert"
	"github.com/vigie/vigie/internal/blocklist/knottest"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/store/sqlite"
	"github.com/vigie/vigie/internal/vigie"
)

type watchFixture struct {
	w     *Watch
	store store.Store
	now   time.Time
}

func newWatchFixture(t *testing.T, k *knottest.Knot, zones []*Zone, targets ...string) *watchFixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "vigie.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cat, err := NewCatalog(zones, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &watchFixture{store: db, now: time.Date(2024, 9, 30, 8, 0, 0, 0, time.UTC)}
	now := func() time.Time { return f.now }
	f.w = New(Options{
		Catalog:  cat,
		Resolver: &Resolver{Servers: []string{k.Addr}, Timeout: 2 * time.Second, Attempts: 1},
		Targets:  &Targets{IPs: filter(targets, true), Domains: filter(targets, false)},
		Sink:     alert.New(alert.Options{Store: db, Now: now}),
		Store:    db,
		Now:      now,
	})
	return f
}

func filter(names []string, ips bool) []string {
	var out []string
	for _, n := range names {
		if t, err := ParseTarget(n); err == nil && t.IsIP() == ips {
			out = append(out, n)
		}
	}
	return out
}

func (f *watchFixture) round(t *testing.T) {
	t.Helper()
	f.now = f.now.Add(15 * time.Minute)
	if _, err := f.w.Round(ctxT(t)); err != nil {
		t.Fatal(err)
	}
}

func (f *watchFixture) findings(t *testing.T) []store.StoredFinding {
	t.Helper()
	fs, err := f.store.ListFindings(context.Background(), store.FindingQuery{Watch: watchName, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func (f *watchFixture) alert(t *testing.T, key string) vigie.Alert {
	t.Helper()
	as, err := f.store.ListAlerts(context.Background(), store.AlertQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		if a.Key == key {
			return a
		}
	}
	t.Fatalf("no alert %s", key)
	return vigie.Alert{}
}

// A listing fires one alert with the delisting steps; the same check again
// emits nothing; the delisting resolves the alert.
func TestWatchAlertsOnlyOnChange(t *testing.T) {
	k := knottest.Start(t)
	zs := testZones(t)
	f := newWatchFixture(t, k, []*Zone{zoneNamed(t, zs, "good.bl.test"), zoneNamed(t, zs, "everything.bl.test"), zoneNamed(t, zs, "limit.bl.test")},
		"203.0.113.7", "203.0.113.1")

	f.round(t)
	fs := f.findings(t)
	// One listing (good.bl.test) and one unusable zone (everything.bl.test);
	// limit.bl.test's "over the limit" and the list-everything zone give
	// unknown, which is no finding at all.
	if len(fs) != 2 {
		t.Fatalf("first round: %d findings, want 2: %+v", len(fs), fs)
	}
	key := vigie.BlocklistKey("203.0.113.7", "good.bl.test")
	a := f.alert(t, key)
	if a.State != vigie.AlertFiring || a.Severity != vigie.SeverityCritical || a.Rule != string(RuleListed) || a.Subject != "203.0.113.7" {
		t.Errorf("alert = %+v", a)
	}
	for k, want := range map[string]string{
		"delist_url":   "https://good.bl.test/delist",
		"delist_steps": "1. Stop the spam.\n2. Ask for removal at https://good.bl.test/delist.",
		"codes":        "127.0.0.2",
		"meanings":     "spam source",
		"reason":       "Listed for spam: see https://good.bl.test/lookup?ip=203.0.113.7",
		"list":         "good.bl.test",
	} {
		if a.Evidence[k] != want {
			t.Errorf("evidence %s = %q, want %q", k, a.Evidence[k], want)
		}
	}
	for _, fd := range fs {
		if fd.Rule == string(RuleListed) && !strings.Contains(fd.Subject, "203.0.113.7") {
			t.Errorf("listed finding for %s", fd.Subject)
		}
		if strings.Contains(fd.Key, "everything.bl.test") || strings.Contains(fd.Key, "limit.bl.test") {
			t.Errorf("a finding about a listing on a zone that cannot be trusted: %+v", fd)
		}
	}
	un := f.alert(t, "blocklist/zone-unusable/everything.bl.test")
	if un.State != vigie.AlertFiring || !strings.Contains(un.Summary, "lists everything") {
		t.Errorf("zone-unusable alert = %+v", un)
	}

	// The same answers again: nothing new.
	f.round(t)
	if got := len(f.findings(t)); got != 2 {
		t.Errorf("second identical round: %d findings, want still 2", got)
	}

	// Delisted: the alert resolves, once.
	k.SetZone(t, "good.bl.test", "2.0.0.127 A 127.0.0.2\n")
	f.round(t)
	if a := f.alert(t, key); a.State != vigie.AlertResolved {
		t.Errorf("after delisting: %s", a.State)
	}
	n := len(f.findings(t))
	if n != 3 {
		t.Errorf("after delisting: %d findings, want 3", n)
	}
	f.round(t)
	if got := len(f.findings(t)); got != n {
		t.Errorf("round after delisting: %d findings, want %d", got, n)
	}

	// The zone breaks (every answer is an error code): the listing state is
	// unknown, which neither fires nor resolves anything about the target.
	k.SetZone(t, "good.bl.test", "* A 127.255.255.252\n")
	f.round(t)
	if a := f.alert(t, key); a.State != vigie.AlertResolved {
		t.Errorf("unknown changed the alert: %s", a.State)
	}
	if a := f.alert(t, "blocklist/zone-unusable/good.bl.test"); a.State != vigie.AlertFiring {
		t.Errorf("broken zone: %s", a.State)
	}

	// Listed again once the zone works: the alert comes back.
	k.SetZone(t, "good.bl.test", "2.0.0.127 A 127.0.0.2\n7.113.0.203 A 127.0.0.4\n")
	f.round(t)
	if a := f.alert(t, key); a.State != vigie.AlertFiring || a.Evidence["codes"] != "127.0.0.4" {
		t.Errorf("relisted: %+v", a)
	}
	if a := f.alert(t, "blocklist/zone-unusable/good.bl.test"); a.State != vigie.AlertResolved {
		t.Errorf("zone answers again: %s", a.State)
	}
}

// A restarted watch remembers what it reported: no second alert.
func TestWatchStateSurvivesRestart(t *testing.T) {
	k := knottest.Start(t)
	zs := testZones(t)
	f := newWatchFixture(t, k, []*Zone{zoneNamed(t, zs, "good.bl.test")}, "203.0.113.7")
	f.round(t)
	n := len(f.findings(t))
	again := New(f.w.o)
	if _, err := again.Round(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if got := len(f.findings(t)); got != n || n != 1 {
		t.Errorf("findings: %d then %d, want 1 and 1", n, got)
	}
}

// A remote refusal from the mail watch and a DNSBL listing about the same
// list meet in one alert through the shared key and the catalog lookup.
func TestDelistingLookup(t *testing.T) {
	cat, err := LoadCatalog("", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ list, target, want, url string }{
		{"microsoft", "203.0.113.7", "microsoft", "https://olcsupport.office.com/"},
		{"S3150", "203.0.113.7", "microsoft", "https://olcsupport.office.com/"},
		{"Outlook.com", "", "microsoft", "https://olcsupport.office.com/"},
		{"spamhaus", "203.0.113.7", "zen.spamhaus.org", "https://check.spamhaus.org/"},
		{"spamhaus", "example.org", "dbl.spamhaus.org", "https://check.spamhaus.org/"},
		{"sbl.spamhaus.org", "203.0.113.7", "zen.spamhaus.org", "https://check.spamhaus.org/"},
		{"b.barracudacentral.org", "203.0.113.7", "b.barracudacentral.org", "https://www.barracudacentral.org/rbl/removal-request"},
		{"SpamCop", "", "bl.spamcop.net", "https://www.spamcop.net/bl.shtml"},
		{"dnsbl.sorbs.net", "", "dnsbl.sorbs.net", ""},
	} {
		z, ok := cat.Delisting(c.list, c.target)
		if !ok || z.ListName() != c.want || z.DelistURL != c.url {
			t.Errorf("Delisting(%q, %q) = %v %v", c.list, c.target, z, ok)
			continue
		}
		if c.want == "microsoft" {
			ev := z.DelistEvidence()
			if !strings.Contains(ev["delist_steps"], "S3150") || ev["list"] != "microsoft" {
				t.Errorf("microsoft evidence: %v", ev)
			}
			if vigie.BlocklistKey("203.0.113.7", z.ListName()) != "blocklist/203.0.113.7/microsoft" {
				t.Error("key")
			}
		}
	}
	if z, ok := cat.Delisting("no-such-list.example", ""); ok {
		t.Errorf("unknown list found: %+v", z)
	}
}

// Run checks after its start delay, on its interval, and returns nil when
// its context ends.
func TestWatchRun(t *testing.T) {
	k := knottest.Start(t)
	zs := testZones(t)
	f := newWatchFixture(t, k, []*Zone{zoneNamed(t, zs, "good.bl.test")}, "203.0.113.7")
	f.w.o.StartDelay, f.w.o.Interval = 10*time.Millisecond, 20*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- f.w.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for len(f.findings(t)) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // several more rounds: still one finding
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
	if n := len(f.findings(t)); n != 1 {
		t.Errorf("%d findings after several rounds, want 1", n)
	}
}

// A listed address that leaves the configuration resolves its alert
// instead of firing forever.
func TestWatchResolvesTargetsNoLongerChecked(t *testing.T) {
	k := knottest.Start(t)
	zs := testZones(t)
	f := newWatchFixture(t, k, []*Zone{zoneNamed(t, zs, "good.bl.test")}, "203.0.113.7", "203.0.113.1")
	f.round(t)
	key := vigie.BlocklistKey("203.0.113.7", "good.bl.test")
	if a := f.alert(t, key); a.State != vigie.AlertFiring {
		t.Fatalf("not firing: %s", a.State)
	}
	f.w.o.Targets.IPs = []string{"203.0.113.1"}
	f.round(t)
	if a := f.alert(t, key); a.State != vigie.AlertResolved || !strings.Contains(a.Summary, "no longer checked") {
		t.Errorf("after removing the target: %s %q", a.State, a.Summary)
	}
}

// The mail watch's evidence of a remote refusal naming the list and the
// watch's own listing feed one alert.
func TestMailEvidenceAndListingMeet(t *testing.T) {
	k := knottest.Start(t)
	zs := testZones(t)
	f := newWatchFixture(t, k, []*Zone{zoneNamed(t, zs, "good.bl.test")}, "203.0.113.7")
	cat, _ := NewCatalog(zs, nil, nil)
	z, ok := cat.Delisting("goodlist", "203.0.113.7")
	if !ok {
		t.Fatal("no entry for provider goodlist")
	}
	ev := z.DelistEvidence()
	ev["reply"] = "554 5.7.1 Service unavailable; Client host [203.0.113.7] blocked using good.bl.test"
	key := vigie.BlocklistKey("203.0.113.7", z.ListName())
	if err := f.w.o.Sink.Emit(context.Background(), vigie.Finding{Watch: "mail", Rule: "blocklist-bounce", Subject: "203.0.113.7",
		Key: key, Severity: vigie.SeverityWarning, Time: f.now, Summary: "remote servers refuse mail: listed on good.bl.test", Evidence: ev}); err != nil {
		t.Fatal(err)
	}
	f.round(t)
	as, err := f.store.ListAlerts(context.Background(), store.AlertQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 1 || as[0].Key != key || as[0].Count != 2 || as[0].Severity != vigie.SeverityCritical {
		t.Errorf("alerts: %+v", as)
	}
}
