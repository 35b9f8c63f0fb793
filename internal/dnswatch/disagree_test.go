package dnswatch

import (
	"context"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/dnswatch/knottest"
)

// Two servers of one TLD that serve different delegations (one has
// loaded the registry's change, the other not): vigie reports the split
// serials and the disagreement with each server's answer, and does not
// report a drift either way.
func TestParentServersDisagree(t *testing.T) {
	if testing.Short() {
		t.Skip("starts knotd")
	}
	addrs := knottest.LoopbackBlock()
	port := knottest.FreePortOn(t, addrs[0], addrs[1])
	names := []string{"d0.alpha.", "d1.alpha.", "d2.alpha."}
	zone := func(serial uint32, d1NS string) []byte {
		var dels []knottest.Delegation
		for _, n := range names {
			ns := []string{"ns1.hoster.net."}
			if n == "d1.alpha." && d1NS != "" {
				ns = []string{d1NS}
			}
			dels = append(dels, knottest.Delegation{Name: n, NS: ns})
		}
		return knottest.ParentZone("alpha.", serial, dels, nil)
	}
	a := knottest.Start(t, addrs[0], port, map[string][]byte{"alpha.": zone(1, "")})
	b := knottest.Start(t, addrs[1], port, map[string][]byte{"alpha.": zone(1, "")})
	m, err := New(Options{Parents: map[string][]string{"alpha.": {a.HostPort(), b.HostPort()}}, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.SetInventory(Inventory{Lines: names}.Scan)
	ctx := context.Background()
	if res, err := m.Sweep(ctx, false); err != nil || len(res.Drifts)+len(res.Errors)+len(res.SerialSplits) != 0 {
		t.Fatalf("first sweep: %+v %v", res, err)
	}
	b.Replace("alpha.", zone(2, "ns1.rogue.example."), 2)

	// Which server answers first is chosen at random; the disagreement is
	// seen whenever b does.
	for try := 0; try < 30; try++ {
		res, err := m.Sweep(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.SerialSplits) != 1 || res.SerialSplits[0].Serials[a.HostPort()] != 1 || res.SerialSplits[0].Serials[b.HostPort()] != 2 {
			t.Fatalf("serial split not reported: %+v", res.SerialSplits)
		}
		if len(res.Drifts) != 0 {
			t.Fatalf("a disagreement was reported as drift: %+v", res.Drifts)
		}
		if len(res.Disagreements) == 0 {
			continue
		}
		d := res.Disagreements[0]
		if d.Domain != "d1.alpha." || d.Kind != KindNS || d.Answers[a.HostPort()] != "ns1.hoster.net." ||
			d.Answers[b.HostPort()] != "ns1.rogue.example." || d.Serials[b.HostPort()] != 2 {
			t.Fatalf("disagreement: %+v", d)
		}
		return
	}
	t.Fatal("the disagreement was never seen")
}
