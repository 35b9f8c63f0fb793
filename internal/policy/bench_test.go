package policy

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/policy/policyload"
)

func benchConfig() config.Policy {
	cfg := config.Default().Policy
	cfg.Limits = []config.Limit{{Window: time.Minute, Messages: 100}, {Window: time.Hour, Messages: 1000}}
	return cfg
}

// BenchmarkDecide is one decision without the network.
func BenchmarkDecide(b *testing.B) {
	r := start(b, Options{Config: benchConfig(), Store: openStore(b, b.TempDir())})
	reqs := make([]Request, 1000)
	for i := range reqs {
		reqs[i] = Request{Request: "smtpd_access_policy", ProtocolState: "END-OF-MESSAGE", SASLUsername: fmt.Sprintf("user%d@example.org", i),
			ClientAddress: "192.0.2.1", QueueID: fmt.Sprintf("%X", 0x100000+i), RecipientCount: 1}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			r.s.Decide(&reqs[i%len(reqs)])
			i++
		}
	})
}

// BenchmarkServer drives the server over loopback with 100 connections,
// as Postfix's smtpd processes would, and reports decisions/s, p50/p99
// latency and the heap in use. scripts/bench.d/policy.sh runs the same
// load against postfwd and policyd-rate-limit.
func BenchmarkServer(b *testing.B) { benchServer(b, 100) }

// BenchmarkServerLatency is the same with 4 connections: with 100
// connections kept busy, the latency is mostly waiting in line (100 /
// the rate); with few it is the time one answer takes.
func BenchmarkServerLatency(b *testing.B) { benchServer(b, 4) }

func benchServer(b *testing.B, conns int) {
	r := start(b, Options{Config: benchConfig(), Store: openStore(b, b.TempDir())})
	b.ResetTimer()
	res, err := policyload.Run(context.Background(), policyload.Options{Addr: r.addr, Conns: conns, Requests: max(b.N, 1000)})
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if res.Errors > 0 {
		b.Errorf("%d errors", res.Errors)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(res.PerSecond(), "decisions/s")
	b.ReportMetric(float64(res.P50.Microseconds()), "p50-µs")
	b.ReportMetric(float64(res.P99.Microseconds()), "p99-µs")
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
}
