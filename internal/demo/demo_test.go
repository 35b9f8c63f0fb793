package demo

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/alert"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/store/sqlite"
	"github.com/vigie/vigie/internal/vigie"
)

// The four scenarios, replayed through the real pipeline, give three open
// incidents with the alerts and graph points the dashboard shows.
func TestLoadGivesThreeIncidentsForFourScenarios(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "v.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	p := alert.New(alert.Options{Store: db, Now: func() time.Time { return now }})
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
	// Four scenarios, three incidents: the certificate issued during the
	// hijack joins the DNS incident (grouping rule 5).
	if len(ins) != 3 {
		t.Fatalf("%d open incidents, want 3: %+v", len(ins), ins)
	}
	want := map[string]struct {
		watches map[string]bool
		alerts  int
	}{
		alert.AccountGroup(stolenAccount):      {map[string]bool{"mail": true}, 4},
		"site/" + relayUser:                    {map[string]bool{"mail": true, "web": true}, 4},
		"dns/delegation/ns1.rogue-dns.example": {map[string]bool{"dns": true, "ct": true}, hijackedDomains + 2},
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
		if len(alerts) != w.alerts {
			t.Errorf("%s: %d alerts, want %d", in.Key, len(alerts), w.alerts)
		}
		for _, a := range alerts {
			if !w.watches[a.Watch] || a.State != vigie.AlertFiring {
				t.Errorf("%s: alert %s/%s %s is %s", in.Key, a.Watch, a.Rule, a.Subject, a.State)
			}
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
			t.Errorf("account-volume alert: count %d severity %v", x.Count, x.Severity)
		}
	}
	q, _ := db.Samples(ctx, "mail_queue", "deferred", now.Add(-time.Hour), now.Add(time.Minute))
	if len(q) == 0 || q[len(q)-1].Value < 1000 {
		t.Errorf("the deferred queue does not show the spam: %v", q)
	}
	drift, _ := db.Samples(ctx, "dns_drift_domains", "", now.Add(-time.Hour), now.Add(time.Minute))
	if len(drift) == 0 || drift[len(drift)-1].Value != hijackedDomains {
		t.Errorf("drift series: %v", drift)
	}
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
