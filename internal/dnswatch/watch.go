package dnswatch

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie/vigie/internal/metrics"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/task"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
)

// BaselinePath is where the baseline lives in a data directory.
func BaselinePath(dataDir string) string { return filepath.Join(dataDir, "dns-baseline.tsv") }

// WatchConfig is what the DNS watch is built from.
type WatchConfig struct {
	Inventory       Inventory
	ParentInterval  time.Duration
	RecordsInterval time.Duration
	Monitor         Options
	Store           store.Store
	Sink            watch.Sink
	Metrics         *metrics.Factory
	Logger          *slog.Logger
	Now             func() time.Time
	// Node is this node's name in the leases that split the sweep between
	// the nodes sharing the store (Monitor.Shards above 1).
	Node string
	// LeaseTTL is how long a node's claim on its shards lasts without
	// renewal: a node that dies hands its share over within about
	// LeaseTTL plus a third of it. 0: 30s.
	LeaseTTL time.Duration
	// RDAP, when set, checks each domain's registration once per
	// RDAPInterval (spread over it) beside the sweeps; its ParentNS is
	// set here from the last sweep.
	RDAP         *RDAPChecker
	RDAPInterval time.Duration
}

// Watch runs sweeps on a schedule: the delegations every ParentInterval,
// the records too every RecordsInterval.
type Watch struct {
	c   WatchConfig
	log *slog.Logger
	m   *watchMetrics
	// afterSweep, when set (tests), sees every sweep and the domains it
	// covered.
	afterSweep func(res *Result, domains []string)
	sight      sweepSight // for Health (health.go)
}

type watchMetrics struct {
	sweeps     *prometheus.CounterVec
	duration   *prometheus.GaugeVec
	domains    prometheus.Gauge
	drifts     prometheus.Gauge
	errors     *prometheus.CounterVec
	queries    prometheus.Counter
	unexpected prometheus.Counter
	tcp        prometheus.Counter
	learned    prometheus.Counter
	badLines   prometheus.Counter
	shards     prometheus.Gauge
}

func newWatchMetrics(f *metrics.Factory) *watchMetrics {
	return &watchMetrics{
		sweeps: f.CounterVec(prometheus.CounterOpts{Name: "vigie_dns_sweeps_total",
			Help: "Sweeps run, by scope (parent: delegations only; full: records too)."}, "scope"),
		duration: f.GaugeVec(prometheus.GaugeOpts{Name: "vigie_dns_sweep_duration_seconds",
			Help: "How long the last sweep took, by scope."}, "scope"),
		domains: f.Gauge(prometheus.GaugeOpts{Name: "vigie_dns_domains",
			Help: "Domains in the inventory."}),
		drifts: f.Gauge(prometheus.GaugeOpts{Name: "vigie_dns_drifts",
			Help: "Domain records that differ from what is expected, as of the last sweep."}),
		errors: f.CounterVec(prometheus.CounterOpts{Name: "vigie_dns_errors_total",
			Help: "Domain checks that got no usable answer, by class (timeout, refused, malformed, mismatch, lame, ...)."}, "class"),
		queries: f.Counter(prometheus.CounterOpts{Name: "vigie_dns_queries_total",
			Help: "DNS queries sent."}),
		unexpected: f.Counter(prometheus.CounterOpts{Name: "vigie_dns_unexpected_answers_total",
			Help: "Packets dropped because no query waited for them (wrong ID, server or question)."}),
		tcp: f.Counter(prometheus.CounterOpts{Name: "vigie_dns_tcp_retries_total",
			Help: "Truncated answers asked again over TCP."}),
		learned: f.Counter(prometheus.CounterOpts{Name: "vigie_dns_baseline_learned_total",
			Help: "Values recorded as expected on first sight (trust on first use)."}),
		badLines: f.Counter(prometheus.CounterOpts{Name: "vigie_dns_inventory_bad_lines_total",
			Help: "Inventory lines skipped because they are not a domain (and optional NS list)."}),
		shards: f.Gauge(prometheus.GaugeOpts{Name: "vigie_dns_shards_held",
			Help: "Shards of the inventory this node sweeps (all of them with one node)."}),
	}
}

// NewWatch returns the watch; Run does the work.
func NewWatch(c WatchConfig) *Watch {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.Monitor.Logger, c.Monitor.Now = c.Logger, c.Now
	return &Watch{c: c, log: c.Logger, m: newWatchMetrics(c.Metrics)}
}

func (w *Watch) Name() string { return WatchName }

// split reports whether the sweep is divided between nodes by leases.
func (w *Watch) split() bool { return w.c.Store != nil && w.c.Monitor.Shards > 1 }

// Run sweeps until ctx ends. Split between nodes, it sweeps the domains
// of the shards it holds every ParentInterval, and at once the shards it
// gains between two sweeps (a node died or left), so that they are not
// left unswept for up to one more interval.
//
// Its goroutines (the sweeper, the lease keeper, the RDAP checker, and
// the monitor's socket readers and sweep workers through its breaker) are
// one task group: a panic in any of them stops the others and returns as
// this watch's error, so the supervisor restarts the DNS watch alone.
func (w *Watch) Run(ctx context.Context) error {
	mon, err := New(w.c.Monitor)
	if err != nil {
		return err
	}
	defer mon.Close()
	g, gctx := task.New(ctx)
	g.Go("dns sweeper", func() error { return w.run(gctx, g, mon) })
	g.Go("dns monitor", func() error {
		select {
		case <-mon.client.brk.done():
			return mon.client.brk.error()
		case <-gctx.Done():
			return nil
		}
	})
	return g.Wait()
}

// run is the sweeper: it starts the lease keeper and the RDAP checker in
// g and sweeps until ctx ends.
func (w *Watch) run(ctx context.Context, g *task.Group, mon *Monitor) error {
	w.sight.start(w.c.Now())
	rep := &Reporter{Sink: w.c.Sink, State: w.c.Store, Now: w.c.Now, Logger: w.log}
	var sh *share
	var gained <-chan struct{}
	if w.split() {
		rep.StateKey = driftsKey + "@" + w.c.Node
		sh = &share{gained: make(chan struct{}, 1)}
		gained = sh.gained
		g.Go("dns lease keeper", func() error { w.keepLeases(ctx, sh); return nil })
		select { // the first claim
		case <-ctx.Done():
			return nil
		case <-gained:
		}
	} else {
		w.m.shards.Set(1)
	}
	var names atomic.Pointer[[]string] // the domains this node sweeps, for RDAP
	var view atomic.Pointer[nsView]    // the parent's NS as of the last sweep
	if w.c.RDAP != nil {
		rc := *w.c.RDAP
		rc.ParentNS = func(d string) (string, bool) {
			if v := view.Load(); v != nil {
				return v.lookup(d)
			}
			return "", false
		}
		interval := w.c.RDAPInterval
		if interval <= 0 {
			interval = 24 * time.Hour
		}
		g.Go("dns rdap checker", func() error {
			rc.Run(ctx, func() []string {
				if p := names.Load(); p != nil {
					return *p
				}
				return nil
			}, interval, func(d string, err error) {
				w.m.errors.WithLabelValues("rdap").Inc()
				w.log.Debug("rdap lookup failed", "domain", d, "err", err)
			})
			return nil
		})
	}
	var invStamp fileStamp
	var lastFull time.Time
	var swept []int // the shards of the last regular sweep
	c := &counters{}
	next := time.Now()
	for {
		if st := w.inventoryStamp(); mon.Domains() == 0 || st != invStamp {
			stats, err := mon.SetInventory(w.c.Inventory.Scan)
			if err != nil {
				return fmt.Errorf("dns inventory: %w", err)
			}
			invStamp = st
			w.m.domains.Set(float64(mon.Domains()))
			w.m.badLines.Add(float64(stats.Bad))
			for _, e := range stats.FirstErrors {
				w.log.Warn("inventory line skipped", "err", e)
			}
			w.log.Info("inventory loaded", "domains", mon.Domains(), "bad_lines", stats.Bad)
		}
		regular := !time.Now().Before(next)
		full := lastFull.IsZero() || w.c.Now().Sub(lastFull) >= w.c.RecordsInterval
		if sh != nil {
			held, _ := sh.get()
			if regular {
				swept = slices.Clone(held)
				mon.SetShards(held)
			} else {
				// only the shards gained since the last regular sweep
				var add []int
				for _, s := range held {
					if !slices.Contains(swept, s) {
						add = append(add, s)
					}
				}
				swept = append(swept, add...)
				mon.SetShards(add)
				full = lastFull.IsZero()
				if len(add) > 0 {
					w.log.Info("sweeping the shards taken over", "shards", len(add))
				}
			}
		}
		if regular {
			next = time.Now().Add(w.c.ParentInterval)
		}
		if mon.SweepSize() > 0 || regular {
			res, err := w.sweepOnce(ctx, mon, rep, full, c)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			if full {
				lastFull = res.Started
			}
			if regular && w.c.RDAP != nil {
				sw := mon.Swept()
				names.Store(&sw)
				view.Store(mon.nsSnapshot())
			}
		}
		timer := time.NewTimer(max(time.Until(next), 0))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		case <-gained:
			timer.Stop()
		}
	}
}

// counters remember the client's totals at the last sweep, to add the
// difference to the metrics.
type counters struct{ sent, unexpected, tcp int64 }

// sweepOnce sweeps the monitor's shards and reports what it found.
func (w *Watch) sweepOnce(ctx context.Context, mon *Monitor, rep *Reporter, full bool, c *counters) (*Result, error) {
	start := time.Now()
	res, err := mon.Sweep(ctx, full)
	if err != nil {
		return nil, err
	}
	open, err := rep.Report(ctx, mon, res)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		w.log.Error("recording the sweep's findings", "err", err)
	}
	w.sight.done(w.c.Now(), time.Since(start), mon.SweepSize())
	if w.afterSweep != nil {
		w.afterSweep(res, mon.Swept())
	}
	scope := "parent"
	if full {
		scope = "full"
	}
	w.m.sweeps.WithLabelValues(scope).Inc()
	w.m.duration.WithLabelValues(scope).Set(time.Since(start).Seconds())
	w.m.drifts.Set(float64(open))
	w.sample(ctx, scope, open, time.Since(start))
	w.m.learned.Add(float64(res.Learned))
	for class, n := range res.Errors {
		w.m.errors.WithLabelValues(class).Add(float64(n))
	}
	s, u, t := mon.stats.sent.Load(), mon.stats.unexpected.Load(), mon.stats.tcpRetries.Load()
	w.m.queries.Add(float64(s - c.sent))
	w.m.unexpected.Add(float64(u - c.unexpected))
	w.m.tcp.Add(float64(t - c.tcp))
	c.sent, c.unexpected, c.tcp = s, u, t
	w.log.Info("sweep done", "scope", scope, "domains", res.Domains, "drifts", len(res.Drifts),
		"errors", res.Errors, "learned", res.Learned, "seconds", time.Since(start).Seconds())
	for _, e := range res.ErrorSamples[:min(5, len(res.ErrorSamples))] {
		w.log.Debug("domain error", "domain", e.Domain, "kind", e.Kind.String(), "err", e.Err)
	}
	return res, nil
}

// Graph series of the dashboard's DNS page (docs/dashboard.md).
const (
	SeriesDriftDomains watch.SeriesName = "dns_drift_domains" // subject "": open drifts after the sweep
	SeriesSweepSeconds watch.SeriesName = "dns_sweep_seconds" // subject "delegation" or "records": the sweep's duration
)

// sample stores the sweep's graph points. With several nodes each one
// writes its own share's figures.
func (w *Watch) sample(ctx context.Context, scope string, open int, took time.Duration) {
	if w.c.Store == nil {
		return
	}
	subject := "delegation"
	if scope == "full" {
		subject = "records"
	}
	now := w.c.Now()
	err := w.c.Store.AddSamples(ctx, []vigie.Sample{
		{Series: string(SeriesDriftDomains), Time: now, Value: float64(open)},
		{Series: string(SeriesSweepSeconds), Subject: subject, Time: now, Value: took.Seconds()},
	})
	if err != nil && ctx.Err() == nil {
		w.log.Error("storing the sweep's graph points", "err", err)
	}
}

func (w *Watch) inventoryStamp() fileStamp {
	if w.c.Inventory.File == "" {
		return fileStamp{}
	}
	fi, err := os.Stat(w.c.Inventory.File)
	if err != nil {
		return fileStamp{}
	}
	return stampOf(fi)
}
