package blocklist

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/blocklist/knottest"
	"github.com/vigie/vigie/internal/testutil"
)

// BenchmarkJudge measures the verdict on one answer.
func BenchmarkJudge(b *testing.B) {
	zs, err := ParseData("b", DefaultData)
	if err != nil {
		b.Fatal(err)
	}
	l := lookup{Addrs: addrs("127.0.0.4", "127.0.0.2")}
	b.ReportAllocs()
	for b.Loop() {
		zs[0].judge(l)
	}
}

// BenchmarkCheckRound runs a round of 100 addresses on two zones served by
// Knot (health checks, A, and TXT for the listed ones), and the peer: the
// dig-per-query loop of the usual shell blocklist checker, here kdig,
// sending the same queries one after the other. It reports queries per
// second for both and the ratio.
func BenchmarkCheckRound(b *testing.B) {
	kdig := testutil.RequireProgram(b, "kdig")
	k := knottest.Start(b)
	zs, err := ParseData("zones-test.yaml", knottest.Zones())
	if err != nil {
		b.Fatal(err)
	}
	var zones []*Zone
	for _, z := range zs {
		if z.Zone == "good.bl.test" || z.Zone == "limit.bl.test" {
			zones = append(zones, z)
		}
	}
	var targets []Target
	for i := 1; i <= 100; i++ {
		t, _ := ParseTarget(fmt.Sprintf("203.0.113.%d", i))
		targets = append(targets, t)
	}
	c := &Checker{Zones: zones, Resolver: &Resolver{Servers: []string{k.Addr}, Timeout: 2 * time.Second, Attempts: 1}}
	ctx := context.Background()
	b.ReportAllocs()
	queries := 0
	began := time.Now()
	for b.Loop() {
		queries += c.Check(ctx, targets).Queries
	}
	vigieQPS := float64(queries) / time.Since(began).Seconds()
	b.ReportMetric(vigieQPS, "vigie-queries/s")

	// The peer, once: the same A queries, and TXT where listed.
	host, port, _ := strings.Cut(k.Addr, ":")
	rep := c.Check(ctx, targets)
	peerQueries := 0
	pbegan := time.Now()
	for _, r := range rep.Results {
		t, _ := ParseTarget(r.Target)
		name, _ := queryName(t, r.Zone)
		types := []string{"A"}
		if r.Status == Listed {
			types = append(types, "TXT")
		}
		for _, qt := range types {
			if err := exec.Command(kdig, "@"+host, "-p", port, "+short", name, qt).Run(); err != nil {
				b.Fatal(err)
			}
			peerQueries++
		}
	}
	peerQPS := float64(peerQueries) / time.Since(pbegan).Seconds()
	b.ReportMetric(peerQPS, "kdig-loop-queries/s")
	b.ReportMetric(vigieQPS/peerQPS, "x-faster-than-kdig-loop")
}
