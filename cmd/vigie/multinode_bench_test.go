package main

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/policy/policyload"
	"github.com/vigie/vigie/internal/testutil/pgtest"
)

// BenchmarkPolicyNodes measures policy decisions per second of one vigie
// on SQLite and of three vigie on one PostgreSQL (the load generator's
// connections split between them), with the same limit and enough
// accounts that none reaches it. scripts/bench.d/multinode.sh runs it
// and prints the ratio. Run with -benchtime 1x; POLICY_BENCH_DURATION
// (default 10s) is how long each configuration is driven.
func BenchmarkPolicyNodes(b *testing.B) {
	dur := 10 * time.Second
	if d, err := time.ParseDuration(os.Getenv("POLICY_BENCH_DURATION")); err == nil {
		dur = d
	}
	const conns, accounts = 48, 10000
	run := func(b *testing.B, nodes []*node) {
		for i := 0; i < b.N; i++ {
			var mu sync.Mutex
			var total, errs int64
			var wg sync.WaitGroup
			for _, nd := range nodes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r, err := policyload.Run(context.Background(), policyload.Options{Addr: nd.policyAddr,
						Conns: conns / len(nodes), Duration: dur, Accounts: accounts})
					if err != nil {
						b.Error(err)
						return
					}
					mu.Lock()
					total += r.Requests
					errs += r.Errors
					mu.Unlock()
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(total)/dur.Seconds(), "decisions/s")
			b.ReportMetric(float64(errs), "errors")
		}
	}
	b.Run("sqlite-1node", func(b *testing.B) {
		run(b, startBenchNodes(b, 1, ""))
	})
	b.Run("postgres-3nodes", func(b *testing.B) {
		pg, err := pgtest.Start()
		if err != nil {
			b.Skipf("PostgreSQL: %v", err)
		}
		defer pg.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, dsn, err := pg.CreateDatabase(ctx)
		if err != nil {
			b.Fatal(err)
		}
		nodes := startBenchNodes(b, 3, fmt.Sprintf("store:\n  driver: postgres\n  dsn: %q\n", dsn))
		run(b, nodes)
		// the exchanges catch up with the load first: the overshoot is
		// measured on nodes that keep up, not on a saturated machine
		time.Sleep(3 * time.Second)
		b.ReportMetric(float64(blast(nodes, "blast@example.org", 4, 0, 2*time.Second)), "blast-accepted")
		time.Sleep(3 * time.Second)
		b.ReportMetric(float64(blast(nodes, "paced@example.org", 1, 5*time.Millisecond, 2*time.Second)), "paced-accepted")
		// times a node went on alone because an exchange took over a
		// second (the machine saturated by the load and the database)
		stale := 0
		for _, nd := range nodes {
			stale += strings.Count(nd.logText(), "shared store does not answer")
		}
		b.ReportMetric(float64(stale), "alone-episodes")
	})
}

// blast sends one account's mail through every node at once, on conns
// connections per node each pausing pause between messages, for d, and
// returns how many messages were accepted: the limit (100) plus the
// overshoot across nodes.
func blast(nodes []*node, account string, conns int, pause, d time.Duration) int64 {
	var accepted atomic.Int64
	var wg sync.WaitGroup
	end := time.Now().Add(d)
	for _, nd := range nodes {
		for c := 0; c < conns; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; time.Now().Before(end); i++ {
					if a, err := ask(nd.policyAddr, account, fmt.Sprintf("B%s%d%06d", nd.name, c, i)); err == nil && a == "DUNNO" {
						accepted.Add(1)
					}
					time.Sleep(pause)
				}
			}()
		}
	}
	wg.Wait()
	return accepted.Load()
}

func startBenchNodes(b *testing.B, n int, storeYAML string) []*node {
	dir := b.TempDir()
	var nodes []*node
	for i := 1; i <= n; i++ {
		nd := newNode(b, dir, i)
		os.WriteFile(nd.cfg, []byte(fmt.Sprintf(`node: %s
%shttp:
  listen: ""
notify:
  log:
    enabled: false
blocklist:
  enabled: off
policy:
  enabled: on
  listen: [%s]
  milter: {listen: "", local_listen: ""}
  over_limit: {action: DEFER_IF_PERMIT, text: 4.7.1 Sending limit reached}
  containment: off
  limits:
    - {window: 1m, messages: 100}
`, nd.name, storeYAML, nd.policyAddr)), 0o600)
		nd.start(b)
		nodes = append(nodes, nd)
	}
	for _, nd := range nodes {
		nd.waitLog(b, regexp.MustCompile(`policy server ready`), 20*time.Second)
	}
	return nodes
}
