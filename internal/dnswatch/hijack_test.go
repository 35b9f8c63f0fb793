package dnswatch

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/alert"
	"github.com/vigie/vigie/internal/dnswatch/knottest"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/store/sqlite"
	"github.com/vigie/vigie/internal/vigie"
)

// The registrar incident at test scale: 751 of 10,000 domains in four
// TLDs are moved to one rogue NS set at the registry. The next sweep must
// report exactly those, in one incident, with the right expected and
// observed values; the revert plan must list them; reverting at the
// registry must resolve everything.
func TestHijackOf751Domains(t *testing.T) {
	if testing.Short() {
		t.Skip("starts knotd")
	}
	ctx := context.Background()
	tlds := []string{"alpha.", "bravo.", "charlie.", "delta."}
	l := knottest.NewLab(t, tlds, 2500)
	dir := t.TempDir()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "vigie.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pipe := alert.New(alert.Options{Store: db})
	m, err := New(Options{Parents: l.Parents(), ChildPort: uint16(l.Port()), Timeout: time.Second,
		Retries: 2, Backoff: 50 * time.Millisecond, InFlight: 500, BaselinePath: filepath.Join(dir, "baseline.tsv")})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.SetInventory(Inventory{Lines: l.Domains}.Scan); err != nil {
		t.Fatal(err)
	}
	rep := &Reporter{Sink: pipe, State: db}

	// First sweep: everything is learned, nothing drifts.
	res := sweep(t, m, rep, true)
	if len(res.Drifts) != 0 || len(res.Errors) != 0 {
		t.Fatalf("first sweep: %d drifts, errors %v %v", len(res.Drifts), res.Errors, res.ErrorSamples)
	}
	if want := len(l.Domains) * 9; res.Learned != want {
		t.Fatalf("learned %d values, want %d", res.Learned, want)
	}

	// The attack: 751 domains across the four TLDs.
	perm := rand.Perm(len(l.Domains))
	var victims []string
	for _, i := range perm[:751] {
		l.Hijacked[l.Domains[i]] = true
		victims = append(victims, l.Domains[i])
	}
	sort.Strings(victims)
	l.Publish()

	res = sweep(t, m, rep, true)
	if len(res.Errors) != 0 {
		t.Fatalf("errors: %v %v", res.Errors, res.ErrorSamples)
	}
	reported := map[string]bool{}
	for _, d := range res.Drifts {
		if !l.Hijacked[d.Domain] {
			t.Errorf("%s reported but not hijacked: %+v", d.Domain, d)
		}
		reported[d.Domain] = true
		if d.Kind == KindNS {
			if want := strings.Join(knottest.LegitNS(d.TLD), ", "); d.Expected != want {
				t.Errorf("%s: expected %q, want %q", d.Domain, d.Expected, want)
			}
			if want := strings.Join(knottest.RogueNS, ", "); d.Observed != want {
				t.Errorf("%s: observed %q, want %q", d.Domain, d.Observed, want)
			}
		}
	}
	if len(reported) != 751 {
		t.Fatalf("%d domains reported, want 751", len(reported))
	}
	kinds := map[Kind]int{}
	for _, d := range res.Drifts {
		kinds[d.Kind]++
	}
	for _, k := range []Kind{KindNS, KindGlue, KindA, KindMX, KindSPF, KindDMARC} {
		if kinds[k] != 751 {
			t.Errorf("%s drifts: %d, want 751", k, kinds[k])
		}
	}
	if kinds[KindCAA] != 0 || kinds[KindDS] != 0 || kinds[KindAAAA] != 0 {
		t.Errorf("unchanged kinds reported: %v", kinds)
	}

	incs, err := db.ListIncidents(ctx, store.IncidentQuery{States: []vigie.IncidentState{vigie.IncidentOpen}})
	if err != nil {
		t.Fatal(err)
	}
	if len(incs) != 1 {
		t.Fatalf("%d open incidents, want 1: %+v", len(incs), incs)
	}
	t.Logf("incident: %s", incs[0].Title)
	if !strings.Contains(incs[0].Title, "751 domains in 4 TLDs") {
		t.Errorf("incident title %q does not give the count and TLDs", incs[0].Title)
	}
	alerts, err := db.ListAlerts(ctx, store.AlertQuery{IncidentID: incs[0].ID, Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	inIncident := map[string]bool{}
	for _, a := range alerts {
		inIncident[a.Subject] = true
	}
	if len(inIncident) != 751 || len(alerts) != len(res.Drifts) {
		t.Errorf("incident has %d alerts about %d domains, want %d alerts about 751", len(alerts), len(inIncident), len(res.Drifts))
	}

	plan, err := RevertPlan(ctx, db, incs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan) != 751 {
		t.Fatalf("revert plan has %d rows, want 751", len(plan))
	}
	for i, row := range plan {
		if row.Domain != victims[i] || row.ObservedNS != strings.Join(knottest.RogueNS, ", ") || row.ExpectedNS != strings.Join(knottest.LegitNS(row.TLD), ", ") {
			t.Fatalf("revert plan row %d: %+v", i, row)
		}
	}

	// Even if the watch's record of open drifts is lost (a crash between
	// two writes), the alerts are read back and resolved by the revert.
	if err := db.DeleteState(ctx, WatchName, driftsKey); err != nil {
		t.Fatal(err)
	}

	// The registrar reverts at the registry: everything resolves.
	clear(l.Hijacked)
	l.Publish()
	res = sweep(t, m, rep, true)
	if len(res.Drifts) != 0 || len(res.Errors) != 0 {
		t.Fatalf("after revert: %d drifts, errors %v", len(res.Drifts), res.Errors)
	}
	in, err := db.Incident(ctx, incs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if in.State != vigie.IncidentResolved {
		t.Errorf("incident is %s after the revert", in.State)
	}
	active, _ := db.ListAlerts(ctx, store.AlertQuery{Watch: WatchName, States: []vigie.AlertState{vigie.AlertFiring}})
	if len(active) != 0 {
		t.Errorf("%d alerts still firing", len(active))
	}
}

func sweep(t *testing.T, m *Monitor, rep *Reporter, full bool) *Result {
	t.Helper()
	ctx := context.Background()
	start := time.Now()
	res, err := m.Sweep(ctx, full)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rep.Report(ctx, m, res); err != nil {
		t.Fatal(err)
	}
	t.Logf("sweep: %d domains, %d queries, %d drifts in %v", res.Domains, res.Queries, len(res.Drifts), time.Since(start))
	return res
}
