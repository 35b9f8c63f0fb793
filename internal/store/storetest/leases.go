package storetest

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
)

func claim(t *testing.T, s store.Store, node string, max int, at time.Time) []int {
	t.Helper()
	got, err := s.ClaimShards(context.Background(), store.LeaseClaim{Sweep: "dns", Node: node, Shards: 8, Max: max, TTL: time.Minute, Now: at})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func testLeases(t *testing.T, newStore New) {
	ctx := context.Background()
	s := open(t, newStore)
	if _, err := s.ClaimShards(ctx, store.LeaseClaim{Sweep: "dns", Node: "a", Shards: 0, TTL: time.Minute, Now: base}); err == nil {
		t.Error("a claim of 0 shards was accepted")
	}
	if got := claim(t, s, "a", 0, base); !reflect.DeepEqual(got, []int{0, 1, 2, 3, 4, 5, 6, 7}) {
		t.Fatalf("a alone claims everything: got %v", got)
	}
	// b joins: nothing is free until a gives up its extra shards, but b
	// now counts among the sweep's nodes.
	if got := claim(t, s, "b", 4, base.Add(time.Second)); len(got) != 0 {
		t.Fatalf("b took shards a holds: %v", got)
	}
	joined, err := s.LeaseHolders(ctx, "dns", base.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string][]int{"a": {0, 1, 2, 3, 4, 5, 6, 7}, "b": {}}; !reflect.DeepEqual(joined, want) {
		t.Fatalf("holders after b joined = %v, want %v", joined, want)
	}
	// a learns there are two nodes and keeps its fair share.
	if n := store.FairShare(8, len(joined)); n != 4 {
		t.Fatalf("FairShare(8, 2) = %d", n)
	}
	if got := claim(t, s, "a", 4, base.Add(2*time.Second)); !reflect.DeepEqual(got, []int{0, 1, 2, 3}) {
		t.Fatalf("a keeping 4: got %v", got)
	}
	if got := claim(t, s, "b", 4, base.Add(3*time.Second)); !reflect.DeepEqual(got, []int{4, 5, 6, 7}) {
		t.Fatalf("b's share: got %v", got)
	}
	holders, err := s.LeaseHolders(ctx, "dns", base.Add(4*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string][]int{"a": {0, 1, 2, 3}, "b": {4, 5, 6, 7}}; !reflect.DeepEqual(holders, want) {
		t.Fatalf("holders = %v, want %v", holders, want)
	}
	// Renewing keeps the same shards.
	if got := claim(t, s, "b", 4, base.Add(30*time.Second)); !reflect.DeepEqual(got, []int{4, 5, 6, 7}) {
		t.Fatalf("b renewing: got %v", got)
	}
	// a dies: once its leases expire (claimed at +2s for a minute), b takes
	// them over.
	if got := claim(t, s, "b", 8, base.Add(61*time.Second)); !reflect.DeepEqual(got, []int{4, 5, 6, 7}) {
		t.Fatalf("b before a's leases expire: got %v", got)
	}
	if got := claim(t, s, "b", 8, base.Add(63*time.Second)); !reflect.DeepEqual(got, []int{0, 1, 2, 3, 4, 5, 6, 7}) {
		t.Fatalf("b after a's leases expired: got %v", got)
	}
	holders, _ = s.LeaseHolders(ctx, "dns", base.Add(64*time.Second))
	if len(holders) != 1 || len(holders["b"]) != 8 {
		t.Fatalf("holders after take-over = %v", holders)
	}
	// Another sweep is independent; releasing frees at once.
	if got, _ := s.ClaimShards(ctx, store.LeaseClaim{Sweep: "ct", Node: "a", Shards: 2, TTL: time.Minute, Now: base.Add(64 * time.Second)}); len(got) != 2 {
		t.Fatalf("ct sweep: got %v", got)
	}
	if err := s.ReleaseShards(ctx, "dns", "b"); err != nil {
		t.Fatal(err)
	}
	if got := claim(t, s, "a", 3, base.Add(65*time.Second)); !reflect.DeepEqual(got, []int{0, 1, 2}) {
		t.Fatalf("a after b released: got %v", got)
	}
	// Fewer shards than before: the ones beyond are dropped.
	got, err := s.ClaimShards(ctx, store.LeaseClaim{Sweep: "dns", Node: "a", Shards: 2, TTL: time.Minute, Now: base.Add(66 * time.Second)})
	if err != nil || !reflect.DeepEqual(got, []int{0, 1}) {
		t.Fatalf("after shrinking to 2 shards: %v, %v", got, err)
	}
}

// testLeasesConverge: three nodes claiming in turns, each its fair share of
// the nodes it sees, end up holding every shard, none twice, none more
// than its share (FairShare rounds up, so that the shares always cover
// the sweep: 6, 6 and 4 of 16).
func testLeasesConverge(t *testing.T, newStore New) {
	ctx := context.Background()
	s := open(t, newStore)
	const shards = 16
	nodes := []string{"n1", "n2", "n3"}
	held := map[string][]int{}
	at := base
	for round := 0; round < 4; round++ {
		for _, n := range nodes {
			at = at.Add(time.Second)
			holders, err := s.LeaseHolders(ctx, "web", at)
			if err != nil {
				t.Fatal(err)
			}
			live := len(holders)
			if _, ok := holders[n]; !ok {
				live++
			}
			got, err := s.ClaimShards(ctx, store.LeaseClaim{Sweep: "web", Node: n, Shards: shards, Max: store.FairShare(shards, live),
				TTL: time.Minute, Now: at})
			if err != nil {
				t.Fatal(err)
			}
			held[n] = got
		}
	}
	seen := map[int]bool{}
	for n, hs := range held {
		if len(hs) == 0 || len(hs) > store.FairShare(shards, 3) {
			t.Errorf("%s holds %d shards, want 1 to %d: %v", n, len(hs), store.FairShare(shards, 3), held)
		}
		for _, h := range hs {
			if seen[h] {
				t.Fatalf("shard %d held twice: %v", h, held)
			}
			seen[h] = true
		}
	}
	if len(seen) != shards {
		t.Errorf("%d of %d shards held: %v", len(seen), shards, held)
	}
}

// testLeasesConcurrent: nodes claiming at the same moment never share a
// shard and together hold them all.
func testLeasesConcurrent(t *testing.T, newStore New) {
	s := open(t, newStore)
	const nodes, shards = 4, 16
	var wg sync.WaitGroup
	results := make([][]int, nodes)
	errs := make([]error, nodes)
	for i := 0; i < nodes; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = s.ClaimShards(context.Background(), store.LeaseClaim{Sweep: "ct", Node: string(rune('a' + i)),
				Shards: shards, Max: store.FairShare(shards, nodes), TTL: time.Minute, Now: base})
		}()
	}
	wg.Wait()
	seen := map[int]bool{}
	for i, r := range results {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		for _, sh := range r {
			if seen[sh] {
				t.Fatalf("shard %d given to two nodes: %v", sh, results)
			}
			seen[sh] = true
		}
	}
	if len(seen) != shards {
		t.Fatalf("%d of %d shards held: %v", len(seen), shards, results)
	}
}

// testAlertTwoHandles: two handles on one store, as two nodes on one
// database, see the same findings at once: one alert per key, every count
// kept.
func testAlertTwoHandles(t *testing.T, newStore New) {
	ctx := context.Background()
	s1, reopen := newStore(t)
	t.Cleanup(func() { s1.Close() })
	s2 := reopen()
	t.Cleanup(func() { s2.Close() })
	const keys, each = 5, 20
	var wg sync.WaitGroup
	errs := make(chan error, 2*keys*each)
	for _, s := range []store.Store{s1, s2, s1, s2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				for k := 0; k < keys; k++ {
					if _, err := s.UpdateAlert(ctx, "two/"+string(rune('a'+k)), fire("erin", base)); err != nil {
						errs <- err
						return
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
	all, err := s2.ListAlerts(ctx, store.AlertQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != keys {
		t.Fatalf("%d alerts, want %d: %+v", len(all), keys, all)
	}
	for _, a := range all {
		if a.Count != 4*each {
			t.Errorf("alert %s count %d, want %d", a.Key, a.Count, 4*each)
		}
	}
	if _, err := s1.AddFinding(ctx, vigie.Finding{Watch: "mail", Rule: "r", Subject: "erin", Severity: vigie.SeverityInfo,
		Time: base, Node: "node-2"}, all[0].ID); err != nil {
		t.Fatal(err)
	}
	fs, err := s2.ListFindings(ctx, store.FindingQuery{AlertID: all[0].ID})
	if err != nil || len(fs) != 1 || fs[0].Node != "node-2" {
		t.Fatalf("finding written by one handle, read by the other: %+v, %v", fs, err)
	}
}
