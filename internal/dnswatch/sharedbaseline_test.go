package dnswatch

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/dnswatch/knottest"
	"github.com/vigie/vigie/internal/store/sqlite"
)

// The baseline kept in the store, per shard: what one node learned,
// another finds (it learns nothing and sees the same drifts); an
// approval written to the records is what both expect next.
func TestSharedBaseline(t *testing.T) {
	if testing.Short() {
		t.Skip("starts knotd")
	}
	ctx := context.Background()
	l := knottest.NewLab(t, []string{"alpha.", "delta."}, 20)
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "vigie.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const shards = 4
	node := func() *Monitor {
		m, err := New(Options{Parents: l.Parents(), ChildPort: uint16(l.Port()), Timeout: time.Second,
			Retries: 2, Backoff: 50 * time.Millisecond, Shards: shards, BaselineState: db})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(m.Close)
		if _, err := m.SetInventory(Inventory{Lines: l.Domains}.Scan); err != nil {
			t.Fatal(err)
		}
		return m
	}
	a := node()
	res, err := a.Sweep(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(l.Domains) * int(numKinds); res.Learned != want {
		t.Fatalf("learned %d values, want %d", res.Learned, want)
	}
	for sh := 0; sh < shards; sh++ {
		blob, err := db.GetState(ctx, WatchName, baselineKey(sh))
		if err != nil {
			t.Fatalf("shard %d: %v", sh, err)
		}
		for _, line := range strings.Split(string(blob), "\n") {
			if name, ok := strings.CutPrefix(line, "d\t"); ok {
				if name = name[:strings.IndexByte(name, '\t')]; ShardOf(name, shards) != sh {
					t.Errorf("%s in the record of shard %d, its shard is %d", name, sh, ShardOf(name, shards))
				}
			}
		}
	}

	victim := l.Domains[3]
	l.Hijacked[victim] = true
	l.Publish()
	rogue := strings.Join(knottest.RogueNS, ", ")
	// b starts with nothing in memory, holding only the victim's shard.
	b := node()
	b.SetShards([]int{ShardOf(victim, shards)})
	res, err = b.Sweep(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Learned != 0 {
		t.Errorf("the second node learned %d values", res.Learned)
	}
	if !hasDrift(res, victim, KindNS) {
		t.Fatalf("the second node does not see the hijack: %+v", res.Drifts)
	}
	for _, d := range b.Swept() {
		if ShardOf(d, shards) != ShardOf(victim, shards) {
			t.Errorf("swept %s, not of the held shard", d)
		}
	}

	// Approving the new NS (as `vigie dns approve` does on PostgreSQL).
	bl := BaselineTarget{State: db, Shards: shards}
	if err := bl.Set(ctx, map[string]map[Kind]string{victim: {KindNS: rogue}}); err != nil {
		t.Fatal(err)
	}
	for _, m := range []*Monitor{a, b} {
		res, err := m.Sweep(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		if hasDrift(res, victim, KindNS) {
			t.Errorf("NS of %s drifts after the approval", victim)
		}
		if !hasDrift(res, victim, KindA) {
			t.Errorf("the A record of %s, not approved, no longer drifts", victim)
		}
		if res.Learned != 0 {
			t.Errorf("learned %d values after the approval (values known to be empty lost?)", res.Learned)
		}
	}
}

func hasDrift(res *Result, domain string, k Kind) bool {
	for _, d := range res.Drifts {
		if d.Domain == domain && d.Kind == k {
			return true
		}
	}
	return false
}
