package postgres

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/alert"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watches"
)

// Two nodes, each with its own pipeline and pool on one database, see the
// same attack at the same moment: a finding seen by both is one alert
// (with both findings, each tagged with its node), and two alerts of one
// group fired at once on two nodes are one incident.
func TestTwoNodesOneAlertAndIncidentStream(t *testing.T) {
	dsn := pg.Database(t)
	ctx := context.Background()
	at := time.Date(2024, 9, 29, 13, 0, 0, 0, time.UTC)
	var nodes []*alert.Pipeline
	for _, name := range []string{"mx1", "mx2"} {
		db := openDSN(t, dsn, Options{})
		defer db.Close()
		nodes = append(nodes, alert.New(alert.Options{Watches: watches.All(), Store: db, Node: name, Now: func() time.Time { return at }}))
	}
	const groups = 25
	var wg sync.WaitGroup
	errs := make(chan error, 4*groups)
	for i, p := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for g := 0; g < groups; g++ {
				account := fmt.Sprintf("user%d@example.org", g)
				// Each node fires its own rule about the account, and both
				// see the same volume finding.
				for _, rule := range []string{fmt.Sprintf("rule-%d", i), "account-volume"} {
					if err := p.Emit(ctx, vigie.Finding{Watch: "mail", Rule: rule, Subject: account, Severity: vigie.SeverityWarning,
						Summary: account + " " + rule, Time: at}); err != nil {
						errs <- err
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	s := openDSN(t, dsn, Options{})
	defer s.Close()
	incidents, err := s.ListIncidents(ctx, store.IncidentQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(incidents) != groups {
		t.Errorf("%d incidents, want %d (one per account)", len(incidents), groups)
	}
	for _, in := range incidents {
		as, err := s.ListAlerts(ctx, store.AlertQuery{IncidentID: in.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(as) != 3 {
			t.Errorf("incident %d (%s) has %d alerts, want 3", in.ID, in.Key, len(as))
		}
	}
	alerts, err := s.ListAlerts(ctx, store.AlertQuery{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	if len(alerts) != 3*groups {
		t.Fatalf("%d alerts, want %d", len(alerts), 3*groups)
	}
	for _, a := range alerts {
		if a.Rule != "account-volume" {
			continue
		}
		if a.Count != 2 {
			t.Errorf("alert %s count %d, want 2 (one finding per node)", a.Key, a.Count)
		}
		fs, err := s.ListFindings(ctx, store.FindingQuery{AlertID: a.ID})
		if err != nil {
			t.Fatal(err)
		}
		nodesSeen := map[string]bool{}
		for _, f := range fs {
			nodesSeen[f.Node] = true
		}
		if len(fs) != 2 || !nodesSeen["mx1"] || !nodesSeen["mx2"] {
			t.Errorf("alert %s findings %+v, want one from mx1 and one from mx2", a.Key, fs)
		}
	}
}
