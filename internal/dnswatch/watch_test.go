package dnswatch

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vigie/vigie/internal/alert"
	"github.com/vigie/vigie/internal/dnswatch/knottest"
	"github.com/vigie/vigie/internal/metrics"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/store/sqlite"
	"github.com/vigie/vigie/internal/vigie"
)

// The daemon's watch: it learns, sweeps on its schedule, reports a
// hijack as soon as the registry serves it, reads an inventory file
// again when it changes, and stops when told.
func TestWatchRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("starts knotd")
	}
	l := knottest.NewLab(t, []string{"alpha.", "delta."}, 10)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "vigie.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	inv := filepath.Join(dir, "domains.txt")
	os.WriteFile(inv, []byte(strings.Join(l.Domains[:15], "\n")+"\n"), 0o644)
	reg := prometheus.NewRegistry()
	w := NewWatch(WatchConfig{
		Inventory:      Inventory{File: inv},
		ParentInterval: 50 * time.Millisecond, RecordsInterval: time.Hour,
		Monitor: Options{Parents: l.Parents(), ChildPort: uint16(l.Port()), Timeout: time.Second,
			BaselinePath: BaselinePath(dir)},
		Store: db, Sink: alert.New(alert.Options{Store: db}), Metrics: metrics.New(reg),
	})
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	waitFor(t, "the first sweep", func() bool { return testutil.ToFloat64(w.m.sweeps.WithLabelValues("full")) >= 1 })
	if got := testutil.ToFloat64(w.m.domains); got != 15 {
		t.Errorf("domains gauge %v, want 15", got)
	}
	// The file grows: the next sweep watches the new domains too.
	os.WriteFile(inv, []byte(strings.Join(l.Domains, "\n")+"\n"), 0o644)
	waitFor(t, "the inventory reload", func() bool { return testutil.ToFloat64(w.m.domains) == 20 })

	victim := l.Domains[len(l.Domains)-1] // only in the grown inventory
	l.Hijacked[victim] = true
	l.Publish()
	waitFor(t, "the hijack alert", func() bool {
		as, _ := db.ListAlerts(ctx, store.AlertQuery{Watch: WatchName, States: []vigie.AlertState{vigie.AlertFiring}})
		ns := false
		for _, a := range as {
			if a.Subject != victim {
				t.Fatalf("alert about %s", a.Subject)
			}
			ns = ns || a.Evidence["kind"] == "ns"
		}
		return ns
	})
	// The sweeps leave the DNS page's graph points: the drift count
	// goes from 0 to the victim's drifts once it is hijacked, and each
	// sweep's duration.
	waitFor(t, "the drift graph point", func() bool {
		pts, _ := db.Samples(ctx, string(SeriesDriftDomains), "", time.Time{}, time.Now().Add(time.Hour))
		return len(pts) > 1 && pts[0].Value == 0 && pts[len(pts)-1].Value >= 1
	})
	if pts, _ := db.Samples(ctx, string(SeriesSweepSeconds), "delegation", time.Time{}, time.Now().Add(time.Hour)); len(pts) == 0 {
		t.Error("no sweep duration points")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
