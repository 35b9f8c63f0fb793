package demo

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/alert"
	"github.com/vigie/vigie/internal/dnswatch"
	"github.com/vigie/vigie/internal/mail"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/store/sqlite"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watches"
)

// The four scenarios, replayed through the real detectors and pipeline,
// give three open incidents with the alerts and graph points the
// dashboard shows.
func TestLoadGivesThreeIncidentsForFourScenarios(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "v.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now().UTC().Truncate(time.Second)
	p := alert.New(alert.Options{Watches: watches.All(), Store: db, Now: func() time.Time { return now }})
	n, err := Load(ctx, p, db, Scenarios(), now)
	if err != nil {
		t.Fatal(err)
	}
	if n.Findings < hijackedDomains || n.Samples == 0 {
		t.Fatalf("loaded %+v", n)
	}
	ins, err := db.ListIncidents(ctx, store.IncidentQuery{States: []vigie.IncidentState{vigie.IncidentOpen}})
	if err != nil {
		t.Fatal(err)
	}
	// Four scenarios, four incidents: the certificate issued during the
	// hijack joins the DNS incident (grouping rule 5), Microsoft's
	// refusals join the stolen account's (rule 4), and the Drupal site's
	// findings join the mail its uid injected (rule 3); the queue that
	// Yahoo's deferrals make climb is the server's own.
	if len(ins) != 4 {
		t.Fatalf("%d open incidents, want 4: %+v", len(ins), ins)
	}
	uid := os.Getuid()
	if os.Geteuid() == 0 {
		uid = relayUID
	}
	type rule struct{ watch, rule string }
	want := map[string]map[rule]int{ // alerts by watch and rule
		// Microsoft refuses (S3150) and Yahoo defers (TSS04): two listings.
		alert.AccountGroup(stolenAccount): {{"mail", "account-volume"}: 1, {"mail", "remote-blocklist"}: 2},
		alert.AccountGroup("uid:" + strconv.Itoa(uid)): {{"mail", "account-volume"}: 1, {"web", "install-vulnerable"}: 1,
			{"web", "config-readable"}: 1, {"web", "drupalgeddon2"}: 1},
		"dns/ns/" + rogueNS[0] + ", " + rogueNS[1]: {{"dns", "drift"}: hijackedDomains, {"ct", "certificate"}: 1},
		alert.AccountGroup("deferred"):             {{"mail", "queue-growth"}: 1},
	}
	for _, in := range ins {
		w, ok := want[in.Key]
		if !ok {
			t.Errorf("unexpected incident %q", in.Key)
			continue
		}
		if in.Severity != vigie.SeverityCritical {
			t.Errorf("%s: severity %v", in.Key, in.Severity)
		}
		alerts, _ := db.ListAlerts(ctx, store.AlertQuery{IncidentID: in.ID, Limit: 10000})
		got := map[rule]int{}
		for _, a := range alerts {
			got[rule{a.Watch, a.Rule}]++
			if a.State != vigie.AlertFiring {
				t.Errorf("%s: alert %s/%s %s is %s", in.Key, a.Watch, a.Rule, a.Subject, a.State)
			}
			if a.Watch == "dns" {
				if i := hijackIndex(a.Subject); i < 0 || i >= hijackedDomains {
					t.Errorf("%s drifted but was not hijacked", a.Subject)
				}
			}
			if a.Watch == "ct" && (a.Subject != HijackedDomain(certDomainIndex) || a.Severity != vigie.SeverityCritical) {
				t.Errorf("certificate alert: %+v", a)
			}
		}
		for r, c := range w {
			if got[r] != c {
				t.Errorf("%s: %d %s/%s alerts, want %d (all: %v)", in.Key, got[r], r.watch, r.rule, c, got)
			}
		}
		if len(got) != len(w) {
			t.Errorf("%s: alerts %v, want %v", in.Key, got, w)
		}
	}
	// The account that sent a mail a second escalated to critical and
	// counted every repetition.
	a, err := db.ListAlerts(ctx, store.AlertQuery{Watch: "mail"})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range a {
		if x.Rule == "account-volume" && (x.Count < 20 || x.Severity != vigie.SeverityCritical) {
			t.Errorf("account-volume alert %s: count %d severity %v", x.Subject, x.Count, x.Severity)
		}
	}
	sent, _ := db.Samples(ctx, string(mail.SeriesAccountMessages), stolenAccount, now.Add(-time.Hour), now.Add(time.Minute))
	if len(sent) < 30 || sent[len(sent)-1].Value < 55 || sent[len(sent)-1].Value > 65 {
		t.Errorf("the account's graph does not show a mail a second: %v", sent)
	}
	// The queue climbs for hours, as the club1 admins saw it: deferred
	// mail piles up while the account sends.
	q, _ := db.Samples(ctx, string(mail.SeriesQueue), "deferred", now.Add(-8*time.Hour), now.Add(time.Minute))
	if len(q) < 100 || q[len(q)-1].Value < 1000 || q[len(q)/2].Value >= q[len(q)-1].Value {
		t.Errorf("the deferred queue does not climb: %d points, last %v", len(q), q[max(0, len(q)-1):])
	}
	drift, _ := db.Samples(ctx, string(dnswatch.SeriesDriftDomains), "", now.Add(-6*time.Hour), now.Add(time.Minute))
	if len(drift) < 5 || drift[0].Value != 0 || drift[len(drift)-1].Value != hijackedDomains {
		t.Errorf("drift series: %v", drift)
	}
}

// hijackIndex is i for HijackedDomain(i) (with or without the final dot).
func hijackIndex(name string) int {
	for i := range portfolio {
		if d := HijackedDomain(i); name == d || name == d+"." {
			return i
		}
	}
	return -1
}

func TestHijackSpans34TLDs(t *testing.T) {
	tlds := map[string]bool{}
	names := map[string]bool{}
	for i := range hijackedDomains {
		d := HijackedDomain(i)
		names[d] = true
		tlds[hijackTLDs[i%len(hijackTLDs)]] = true
	}
	if len(names) != 751 || len(tlds) != 34 {
		t.Errorf("%d domains across %d TLDs", len(names), len(tlds))
	}
}
