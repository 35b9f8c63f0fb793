package webapps

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie/vigie/internal/health"
	"github.com/vigie/vigie/internal/metrics"
	"github.com/vigie/vigie/internal/task"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
)

// StateStore keeps the watch's cursors and active findings.
type StateStore interface {
	GetState(ctx context.Context, watch, key string) ([]byte, error)
	PutState(ctx context.Context, watch, key string, value []byte) error
}

// SeriesStore keeps the dashboard's graph points (store.Series).
type SeriesStore interface {
	AddSamples(ctx context.Context, s []vigie.Sample) error
}

// SeriesInstalls is the graph of installs by status (subject: the status).
const SeriesInstalls watch.SeriesName = "web_installs"

// LogSource is one access log to follow.
type LogSource struct {
	Path string
	Site string
}

// WatchOptions configure the web watch.
type WatchOptions struct {
	Roots         []string
	Scan          ScanOptions // Data and Now are set by the watch
	ScanInterval  time.Duration
	CheckInterval time.Duration
	DataPath      string // version data file; missing: embedded data
	Logs          []LogSource
	Buckets       Buckets
	Distributed   DistributedSpec
	Repeat        time.Duration
	Sink          watch.Sink
	State         StateStore
	// Series receives the installs-by-status graph points (nil: none).
	Series  SeriesStore
	Logger  *slog.Logger
	Metrics *metrics.Factory
	Now     func() time.Time
	// Poll is how often a followed log is checked for new lines.
	Poll time.Duration
}

// Watch is the web watch: a scanner loop and one follower per access log,
// sharing the inventory so requests link to the installs they hit.
type Watch struct {
	o   WatchOptions
	log *slog.Logger
	inv *Inventory

	installs  *prometheus.GaugeVec
	scanSecs  prometheus.Gauge
	scanErrs  prometheus.Counter
	dataAge   prometheus.Gauge
	lines     prometheus.Counter
	badLines  prometheus.Counter
	longLines prometheus.Counter
	attacks   *prometheus.CounterVec

	stampsMu sync.Mutex
	stamps   map[string]string // path -> fileStamp at the last scan

	sight sight // what Health reports
}

// NewWatch returns the watch.
func NewWatch(o WatchOptions) *Watch {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Poll <= 0 {
		o.Poll = 500 * time.Millisecond
	}
	m := o.Metrics
	return &Watch{
		o: o, log: o.Logger, inv: &Inventory{},
		installs: m.GaugeVec(prometheus.GaugeOpts{Name: "vigie_web_installs",
			Help: "CMS installs found by the last scan, by status."}, "status"),
		scanSecs: m.Gauge(prometheus.GaugeOpts{Name: "vigie_web_scan_duration_seconds", Help: "How long the last scan took."}),
		scanErrs: m.Counter(prometheus.CounterOpts{Name: "vigie_web_scan_errors_total",
			Help: "Directories and files scans could not read."}),
		dataAge: m.Gauge(prometheus.GaugeOpts{Name: "vigie_web_data_age_seconds",
			Help: "Age of the version data the installs are rated against."}),
		lines: m.Counter(prometheus.CounterOpts{Name: "vigie_web_log_lines_total", Help: "Access log lines read."}),
		badLines: m.Counter(prometheus.CounterOpts{Name: "vigie_web_log_lines_bad_total",
			Help: "Access log lines skipped because they are in no known format."}),
		longLines: m.Counter(prometheus.CounterOpts{Name: "vigie_web_log_lines_too_long_total",
			Help: "Access log lines skipped because they exceed 64 KiB."}),
		attacks: m.CounterVec(prometheus.CounterOpts{Name: "vigie_web_log_findings_total",
			Help: "Findings from the access logs, by rule."}, "rule"),
	}
}

// Name is the web watch's name.
func (w *Watch) Name() string { return string(Name) }

// Inventory is the shared inventory (tests, replay).
func (w *Watch) Inventory() *Inventory { return w.inv }

// Run scans and follows until ctx is done.
func (w *Watch) Run(ctx context.Context) error {
	data, err := LoadData(w.o.DataPath)
	if err != nil {
		return err
	}
	// Followers start first: a scan of a large tree takes a while, and
	// attacks must not wait for it; requests link to installs once the
	// first scan has published the inventory.
	// The scanner and the followers are one task group: a panic in any
	// of them stops the others and returns as this watch's error, so the
	// supervisor restarts the web watch alone.
	g, gctx := task.New(ctx)
	for _, src := range w.o.Logs {
		g.Go("web access log follower", func() error { w.follow(gctx, src, data); return nil })
	}
	if len(w.o.Roots) > 0 {
		g.Go("web scanner", func() error {
			w.scan(gctx, data)
			w.scanLoop(gctx, data)
			return nil
		})
	}
	return g.Wait()
}

// scanLoop rescans every ScanInterval, and at once when a check finds that
// a version file, a directory above the installs or the data file changed.
func (w *Watch) scanLoop(ctx context.Context, data *Data) {
	t := time.NewTicker(w.o.CheckInterval)
	defer t.Stop()
	last := w.o.Now()
	dataStamp := fileStamp(w.o.DataPath)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		reason := ""
		if s := fileStamp(w.o.DataPath); s != dataStamp {
			if d, err := LoadData(w.o.DataPath); err != nil {
				w.log.Error("version data refused; keeping the previous one", "err", err)
			} else {
				data, reason = d, "version data changed"
			}
			dataStamp = s
		}
		if reason == "" && w.o.Now().Sub(last) >= w.o.ScanInterval {
			reason = "interval"
		}
		if reason == "" {
			reason = w.changed()
		}
		if reason == "" {
			w.dataAge.Set(data.Age(w.o.Now()).Seconds())
			continue
		}
		w.log.Info("rescanning", "reason", reason)
		w.scan(ctx, data)
		last = w.o.Now()
	}
}

// maxWatched bounds the paths whose changes trigger a rescan.
const maxWatched = 200_000

// fileStamp is what a change check compares: modification time and size.
func fileStamp(path string) string {
	if path == "" {
		return ""
	}
	fi, err := os.Stat(path)
	if err != nil {
		return "absent"
	}
	return fi.ModTime().String() + "/" + strconv.FormatInt(fi.Size(), 10)
}

// scan runs one scan, publishes the inventory and emits the findings.
func (w *Watch) scan(ctx context.Context, data *Data) {
	o := w.o.Scan
	o.Data, o.Now = data, w.o.Now
	var list []*Install
	dirs := map[string]string{}
	o.onDir = func(path string, install bool) {
		if !install && len(dirs) < maxWatched {
			dirs[path] = fileStamp(path)
		}
	}
	stats, err := Scan(ctx, w.o.Roots, o, func(in *Install) { list = append(list, in) })
	if err != nil {
		return // ctx done
	}
	for _, in := range list {
		if len(dirs) < maxWatched {
			p := filepath.Join(in.Path, in.VersionFile)
			dirs[p] = fileStamp(p)
		}
		// A plugin updated or added (its header, its directory in
		// plugins/) rescans too: plugins change far more often than cores.
		for _, e := range in.Extensions {
			if len(dirs) >= maxWatched || e.From == "" {
				break
			}
			p := filepath.Join(in.Path, e.From)
			dirs[p] = fileStamp(p)
			parent := filepath.Dir(filepath.Dir(p))
			if _, ok := dirs[parent]; !ok {
				dirs[parent] = fileStamp(parent)
			}
		}
	}
	w.inv.Set(list)
	w.sight.scanned(w.o.Now(), stats)
	w.stampsMu.Lock()
	w.stamps = dirs
	w.stampsMu.Unlock()
	w.scanSecs.Set(stats.Duration.Seconds())
	w.scanErrs.Add(float64(stats.Errors))
	w.dataAge.Set(data.Age(w.o.Now()).Seconds())
	// For the dashboard: which data rated the installs, and how old it is.
	info, _ := json.Marshal(map[string]any{"date": data.Date, "source": data.Source, "path": w.o.DataPath,
		"scanned_at": w.o.Now().UTC(), "installs": len(list), "dirs": stats.Dirs, "errors": stats.Errors})
	w.o.State.PutState(ctx, string(Name), StateData, info)
	counts := map[Status]int{}
	for _, in := range list {
		counts[in.Status]++
	}
	var points []vigie.Sample
	for _, s := range []Status{StatusCurrent, StatusOutdated, StatusEOL, StatusVulnerable, StatusAbandoned, StatusUnknown} {
		w.installs.WithLabelValues(string(s)).Set(float64(counts[s]))
		points = append(points, vigie.Sample{Series: string(SeriesInstalls), Subject: string(s), Time: w.o.Now().UTC(), Value: float64(counts[s])})
	}
	if w.o.Series != nil {
		if err := w.o.Series.AddSamples(ctx, points); err != nil && ctx.Err() == nil {
			w.log.Error("storing the installs graph points", "err", err)
		}
	}
	w.log.Info("scan done", "installs", len(list), "dirs", stats.Dirs, "errors", stats.Errors,
		"truncated", stats.Truncated, "took", stats.Duration.Round(time.Millisecond))
	for _, e := range stats.Samples {
		w.log.Warn("scan could not read", "path", e.Path, "err", e.Err)
	}
	w.emitInstalls(ctx, list, stats)
}

// changed returns why a rescan is needed, or "".
func (w *Watch) changed() string {
	w.stampsMu.Lock()
	defer w.stampsMu.Unlock()
	for p, s := range w.stamps {
		if fileStamp(p) != s {
			return "changed: " + p
		}
	}
	return ""
}

// activeFinding is what must be resolved when it no longer holds.
type activeFinding struct {
	Rule    string `json:"rule"`
	Subject string `json:"subject"`
	Group   string `json:"group"`
}

// emitInstalls sends the findings of this scan and resolves those of the
// previous scan that no longer hold (the site was upgraded or removed).
func (w *Watch) emitInstalls(ctx context.Context, list []*Install, stats ScanStats) {
	var prev []activeFinding
	if b, err := w.o.State.GetState(ctx, string(Name), "active"); err == nil {
		json.Unmarshal(b, &prev)
	}
	now := w.o.Now()
	cur := map[activeFinding]bool{}
	var next []activeFinding
	for _, in := range list {
		for _, f := range InstallFindings(in, now) {
			if err := w.o.Sink.Emit(ctx, f); err != nil && ctx.Err() != nil {
				return
			}
			a := activeFinding{f.Rule, f.Subject, f.Group}
			if !cur[a] {
				cur[a] = true
				next = append(next, a)
			}
		}
	}
	incomplete := stats.Truncated || stats.Errors > 0 && len(list) == 0 || stats.UnseenCount > len(stats.Unseen)
	for _, a := range prev {
		// An incomplete scan proves nothing gone: keep the old ones
		// active, all of them or those in the places it could not read
		// (a site that became unreadable is not a site upgraded).
		if !cur[a] && (incomplete || underAny(a.Subject, stats.Unseen)) {
			cur[a] = true
			next = append(next, a)
		}
	}
	for _, a := range prev {
		if cur[a] {
			continue
		}
		w.o.Sink.Emit(ctx, vigie.Finding{Watch: string(Name), Rule: a.Rule, Subject: a.Subject, Group: a.Group,
			Time: now, Resolved: true, Summary: a.Subject + ": no longer " + strings.TrimPrefix(a.Rule, "install-")})
	}
	b, _ := json.Marshal(next)
	if err := w.o.State.PutState(ctx, string(Name), "active", b); err != nil {
		w.log.Error("cannot save the active findings", "err", err)
	}
}

// follow runs one access log until ctx is done, restarting after errors.
func (w *Watch) follow(ctx context.Context, src LogSource, data *Data) {
	det := NewLogDetector(LogOptions{Log: src.Path, Site: src.Site, Inventory: w.inv, Data: data,
		Buckets: w.o.Buckets, Distributed: w.o.Distributed, Repeat: w.o.Repeat})
	key := "cursor:" + src.Path
	for ctx.Err() == nil {
		var saved *Cursor
		if b, err := w.o.State.GetState(ctx, string(Name), key); err == nil {
			if c, ok := decodeCursor(b); ok {
				saved = &c
			}
		}
		fw := &follower{path: src.Path, poll: w.o.Poll, max: 64 << 10,
			opened: func() { w.sight.logOpened(src.Path) }}
		lastSave := time.Time{}
		err := fw.run(ctx, saved, func(line []byte) {
			w.lines.Inc()
			fs, err := det.FeedLine(line)
			if err != nil {
				w.badLines.Inc()
				return
			}
			for _, f := range fs {
				w.attacks.WithLabelValues(f.Rule).Inc()
				if err := w.o.Sink.Emit(ctx, f); err != nil && ctx.Err() == nil {
					w.log.Error("cannot emit", "err", err)
				}
			}
		}, func(c Cursor) {
			if time.Since(lastSave) > time.Second {
				lastSave = time.Now()
				w.o.State.PutState(ctx, string(Name), key, c.encode())
			}
		}, func() { w.longLines.Inc() })
		// Save where we stopped, on a context of its own: ctx is done.
		if fw.cur.Inode != 0 {
			w.o.State.PutState(context.WithoutCancel(ctx), "web", key, fw.cur.encode())
		}
		if err == nil {
			return
		}
		if errors.Is(err, context.Canceled) {
			return
		}
		w.sight.logFailed(src.Path, err, w.o.Now())
		w.log.Error("access log follower failed; retrying", "log", src.Path, "err", health.Unreadable(src.Path, err))
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
		}
	}
}
