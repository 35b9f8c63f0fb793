package dnswatch

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie/vigie/internal/alert"
	"github.com/vigie/vigie/internal/dnswatch/knottest"
	"github.com/vigie/vigie/internal/metrics"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/store/postgres"
	"github.com/vigie/vigie/internal/testutil/pgtest"
	"github.com/vigie/vigie/internal/vigie"
)

// diesHard is a node killed with SIGKILL: it never releases its leases,
// which then have to expire.
type diesHard struct{ store.Store }

func (diesHard) ReleaseShards(context.Context, string, string) error { return nil }

type sweepSeen struct {
	at      time.Time // when the sweep started: it covered the shards held then
	domains []string
	learned int
	drifts  []Drift
}

type splitNode struct {
	name   string
	w      *Watch
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returned
	err    error
	mu     sync.Mutex
	sweeps []sweepSeen
}

func (n *splitNode) since(t time.Time) []sweepSeen {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []sweepSeen
	for _, s := range n.sweeps {
		if !s.at.Before(t) {
			out = append(out, s)
		}
	}
	return out
}

// Three nodes on one real PostgreSQL watch 300 domains served by real
// Knot servers: every domain is swept by exactly one node, a hijack of
// 30 domains is one incident with one alert per domain, and when a node
// is killed the others take its shards over (within the lease TTL plus a
// claim) and compare them with the baseline the dead node learned, kept
// in the store: the hijacked domains it swept stay reported, nothing is
// learned again.
func TestSplitSweepThreeNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and knotd")
	}
	srv := pgtest.Require(t)
	dsn := srv.Database(t)
	l := knottest.NewLab(t, []string{"alpha.", "bravo.", "delta."}, 100)
	const shards = 16
	const ttl = 3 * time.Second
	ctx := context.Background()
	admin, err := postgres.Open(ctx, dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()

	start := func(name string, kill bool) *splitNode {
		db, err := postgres.Open(ctx, dsn, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		var st store.Store = db
		if kill {
			st = diesHard{db}
		}
		n := &splitNode{name: name, done: make(chan struct{})}
		n.w = NewWatch(WatchConfig{
			Inventory:      Inventory{Lines: l.Domains},
			ParentInterval: time.Second, RecordsInterval: time.Hour,
			Monitor: Options{Parents: l.Parents(), ChildPort: uint16(l.Port()), Timeout: time.Second,
				Retries: 2, Backoff: 50 * time.Millisecond, Shards: shards, BaselineState: st},
			Store: st, Sink: alert.New(alert.Options{Store: st, Node: name}), Metrics: metrics.New(prometheus.NewRegistry()),
			Node: name, LeaseTTL: ttl,
		})
		n.w.afterSweep = func(res *Result, domains []string) {
			n.mu.Lock()
			defer n.mu.Unlock()
			n.sweeps = append(n.sweeps, sweepSeen{at: res.Started, domains: domains, learned: res.Learned, drifts: res.Drifts})
		}
		cctx, cancel := context.WithCancel(ctx)
		n.cancel = cancel
		go func() {
			defer close(n.done)
			n.err = n.w.Run(cctx)
		}()
		t.Cleanup(func() {
			cancel()
			<-n.done
		})
		return n
	}
	nodes := []*splitNode{start("a", false), start("b", false), start("c", true)}
	byName := map[string]*splitNode{}
	for _, n := range nodes {
		byName[n.name] = n
	}

	holders := func() map[string][]int {
		h, err := admin.LeaseHolders(ctx, leaseSweep, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	// every shard held, by all three nodes
	spread := func(h map[string][]int, want int) bool {
		seen := map[int]bool{}
		for _, shs := range h {
			if len(shs) == 0 {
				return false
			}
			for _, s := range shs {
				seen[s] = true
			}
		}
		return len(h) == want && len(seen) == shards
	}
	waitLong(t, "the shards spread over three nodes", func() bool { return spread(holders(), 3) })
	split := holders()
	t.Logf("shards held: %v", split)

	// Each domain is swept by exactly one node, the one holding its shard.
	t0 := time.Now()
	waitLong(t, "two sweeps on every node", func() bool {
		for _, n := range nodes {
			if len(n.since(t0)) < 2 {
				return false
			}
		}
		return true
	})
	sweptBy := map[string]map[string]int{}
	for _, n := range nodes {
		mine := map[int]bool{}
		for _, s := range split[n.name] {
			mine[s] = true
		}
		for _, sw := range n.since(t0) {
			for _, d := range sw.domains {
				if !mine[ShardOf(d, shards)] {
					t.Errorf("node %s swept %s, of shard %d it does not hold", n.name, d, ShardOf(d, shards))
				}
				if sweptBy[d] == nil {
					sweptBy[d] = map[string]int{}
				}
				sweptBy[d][n.name]++
			}
		}
	}
	for _, d := range l.Domains {
		if len(sweptBy[d]) != 1 {
			t.Errorf("%s swept by %v, want exactly one node", d, sweptBy[d])
		}
	}
	if len(sweptBy) != len(l.Domains) {
		t.Errorf("%d domains swept, want %d", len(sweptBy), len(l.Domains))
	}
	if !spread(holders(), 3) {
		t.Fatalf("the shards moved while the nodes were stable: %v", holders())
	}

	// The hijack: 30 domains over the three nodes' shards.
	var victims []string
	for i := 0; i < len(l.Domains); i += 10 {
		victims = append(victims, l.Domains[i])
		l.Hijacked[l.Domains[i]] = true
	}
	l.Publish()
	firing := func() map[string]vigie.Alert {
		as, err := admin.ListAlerts(ctx, store.AlertQuery{Watch: WatchName, States: []vigie.AlertState{vigie.AlertFiring}, Limit: 10000})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]vigie.Alert{}
		for _, a := range as {
			if a.Evidence["kind"] == "ns" {
				if _, dup := out[a.Subject]; dup {
					t.Errorf("two NS alerts for %s", a.Subject)
				}
				out[a.Subject] = a
			}
		}
		return out
	}
	waitLong(t, "the 30 NS alerts", func() bool { return len(firing()) == len(victims) })
	for _, v := range victims {
		if _, ok := firing()[v]; !ok {
			t.Errorf("no NS alert for %s", v)
		}
	}
	incs, err := admin.ListIncidents(ctx, store.IncidentQuery{States: []vigie.IncidentState{vigie.IncidentOpen}})
	if err != nil {
		t.Fatal(err)
	}
	if len(incs) != 1 {
		t.Fatalf("%d open incidents, want 1: %+v", len(incs), incs)
	}
	// one finding per hijacked domain, from the node holding its shard
	fs, err := admin.ListFindings(ctx, store.FindingQuery{Watch: WatchName, Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	owner := map[int]string{}
	for node, shs := range split {
		for _, s := range shs {
			owner[s] = node
		}
	}
	nsFindings := map[string]int{}
	for _, f := range fs {
		if f.Rule == "drift" && f.Evidence["kind"] == "ns" && !f.Resolved {
			nsFindings[f.Subject]++
			if want := owner[ShardOf(f.Subject, shards)]; f.Node != want {
				t.Errorf("NS drift of %s found by %s, want %s (its shard's holder)", f.Subject, f.Node, want)
			}
		}
	}
	for _, v := range victims {
		if nsFindings[v] != 1 {
			t.Errorf("%s: %d NS drift findings, want 1", v, nsFindings[v])
		}
	}

	// Node c dies without releasing its leases.
	var cVictims []string
	cShards := map[int]bool{}
	for _, s := range split["c"] {
		cShards[s] = true
	}
	for _, v := range victims {
		if cShards[ShardOf(v, shards)] {
			cVictims = append(cVictims, v)
		}
	}
	if len(cVictims) == 0 {
		t.Fatalf("no hijacked domain in c's shards %v", split["c"])
	}
	killed := time.Now()
	byName["c"].cancel()
	<-byName["c"].done
	if err := byName["c"].err; err != nil {
		t.Errorf("node c: Run: %v", err)
	}
	var cDomains []string
	for _, d := range l.Domains {
		if cShards[ShardOf(d, shards)] {
			cDomains = append(cDomains, d)
		}
	}
	var tookOver time.Duration
	waitLong(t, "c's shards taken over", func() bool {
		h := holders()
		if _, alive := h["c"]; alive || !spread(h, 2) {
			return false
		}
		if tookOver == 0 {
			tookOver = time.Since(killed)
		}
		return true
	})
	waitLong(t, "c's domains swept by a or b", func() bool {
		seen := map[string]bool{}
		for _, n := range nodes[:2] {
			for _, sw := range n.since(killed) {
				for _, d := range sw.domains {
					seen[d] = true
				}
			}
		}
		for _, d := range cDomains {
			if !seen[d] {
				return false
			}
		}
		return true
	})
	t.Logf("c's %d shards (%d domains) were taken over %v after it died (lease TTL %v)", len(cShards), len(cDomains), tookOver.Round(time.Millisecond), ttl)
	// The new holders compared c's domains with the baseline c learned:
	// they report its hijacked domains and learn nothing.
	drifted := map[string]bool{}
	for _, n := range nodes[:2] {
		for _, sw := range n.since(killed) {
			if sw.learned != 0 {
				t.Errorf("node %s learned %d values after the takeover", n.name, sw.learned)
			}
			for _, dr := range sw.drifts {
				if dr.Kind == KindNS {
					drifted[dr.Domain] = true
				}
			}
		}
	}
	sort.Strings(cVictims)
	for _, v := range cVictims {
		if !drifted[v] {
			t.Errorf("%s (hijacked, in c's shards) not reported after the takeover", v)
		}
	}
	if got := len(firing()); got != len(victims) {
		t.Errorf("%d NS alerts firing after the takeover, want %d", got, len(victims))
	}

	// The registry is repaired: the two live nodes resolve every alert,
	// c's included.
	for _, v := range victims {
		delete(l.Hijacked, v)
	}
	l.Publish()
	waitLong(t, "every alert resolved", func() bool {
		as, err := admin.ListAlerts(ctx, store.AlertQuery{Watch: WatchName, States: []vigie.AlertState{vigie.AlertFiring}, Limit: 10000})
		if err != nil {
			t.Fatal(err)
		}
		return len(as) == 0
	})
}

// waitLong waits up to a minute: the bound for a takeover.
func waitLong(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
