package dnswatch

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie/vigie/internal/metrics"
	"github.com/vigie/vigie/internal/store"
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
	Sink            Emitter
	Metrics         *metrics.Factory
	Logger          *slog.Logger
	Now             func() time.Time
}

// Watch runs sweeps on a schedule: the delegations every ParentInterval,
// the records too every RecordsInterval.
type Watch struct {
	c   WatchConfig
	log *slog.Logger
	m   *watchMetrics
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

// Run sweeps until ctx ends.
func (w *Watch) Run(ctx context.Context) error {
	mon, err := New(w.c.Monitor)
	if err != nil {
		return err
	}
	defer mon.Close()
	rep := &Reporter{Sink: w.c.Sink, State: w.c.Store, Now: w.c.Now, Logger: w.log}
	var invStamp fileStamp
	var lastFull time.Time
	var sent, unexpected, tcp int64
	for {
		start := time.Now()
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
		full := lastFull.IsZero() || w.c.Now().Sub(lastFull) >= w.c.RecordsInterval
		res, err := mon.Sweep(ctx, full)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if full {
			lastFull = res.Started
		}
		open, err := rep.Report(ctx, mon, res)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			w.log.Error("recording the sweep's findings", "err", err)
		}
		scope := "parent"
		if full {
			scope = "full"
		}
		w.m.sweeps.WithLabelValues(scope).Inc()
		w.m.duration.WithLabelValues(scope).Set(time.Since(start).Seconds())
		w.m.drifts.Set(float64(open))
		w.m.learned.Add(float64(res.Learned))
		for class, n := range res.Errors {
			w.m.errors.WithLabelValues(class).Add(float64(n))
		}
		s, u, t := mon.stats.sent.Load(), mon.stats.unexpected.Load(), mon.stats.tcpRetries.Load()
		w.m.queries.Add(float64(s - sent))
		w.m.unexpected.Add(float64(u - unexpected))
		w.m.tcp.Add(float64(t - tcp))
		sent, unexpected, tcp = s, u, t
		w.log.Info("sweep done", "scope", scope, "domains", res.Domains, "drifts", len(res.Drifts),
			"errors", res.Errors, "learned", res.Learned, "seconds", time.Since(start).Seconds())
		for _, e := range res.ErrorSamples[:min(5, len(res.ErrorSamples))] {
			w.log.Debug("domain error", "domain", e.Domain, "kind", e.Kind.String(), "err", e.Err)
		}
		wait := w.c.ParentInterval - time.Since(start)
		if wait < 0 {
			wait = 0
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		}
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
