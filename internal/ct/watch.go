package ct

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/metrics"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/task"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
)

// Options configure a Watch.
type Options struct {
	config.CT
	Store   store.Store
	Sink    watch.Sink
	Logger  *slog.Logger
	Metrics *metrics.Factory
	Now     func() time.Time
	Client  *http.Client // nil: one with Timeout
	// Once catches every log up to its current head and stops, writing
	// no state and emitting nothing: each match goes to OnMatch and each
	// misbehaving log to OnLogError (vigie ct check).
	Once       bool
	OnMatch    func(CertMatch)
	OnLogError func(log, rule string, err error)
	// Node is this node's name in the leases that split the logs between
	// nodes sharing a store; "": follow every log.
	Node string
	// Sleep replaces the pause between retries (tests).
	Sleep func(ctx context.Context, d time.Duration) error
}

// Watch is the CT watch.
type Watch struct {
	o       Options
	log     *slog.Logger
	logs    []logInfo
	wl      atomic.Pointer[Watchlist]
	metrics *ctMetrics

	mu        sync.Mutex
	fileStamp string // size and mtime of the watchlist file last read

	sights sights // what it knows of each log it follows (health.go)
}

type ctMetrics struct {
	entries, malformed, inconsistent, badHeads, errors, retries *prometheus.CounterVec
	treeSize, position                                          *prometheus.GaugeVec
	matches                                                     prometheus.Counter
	domains                                                     prometheus.Gauge
	reloads                                                     *prometheus.CounterVec
}

func newMetrics(f *metrics.Factory) *ctMetrics {
	if f == nil {
		f = metrics.New(prometheus.NewRegistry())
	}
	cv := func(name, help string, labels ...string) *prometheus.CounterVec {
		return f.CounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels...)
	}
	return &ctMetrics{
		entries:      cv("vigie_ct_entries_total", "Log entries downloaded and verified, by log.", "log"),
		malformed:    cv("vigie_ct_malformed_entries_total", "Verified log entries whose certificate could not be parsed, by log.", "log"),
		inconsistent: cv("vigie_ct_inconsistent_total", "Times a log served entries its signed head does not commit to, by log.", "log"),
		badHeads:     cv("vigie_ct_bad_heads_total", "Tree heads or checkpoints whose signature did not verify, by log.", "log"),
		errors:       cv("vigie_ct_fetch_errors_total", "Polls that failed on the network or on a malformed answer (broken JSON, truncated tile), by log.", "log"),
		retries:      cv("vigie_ct_retries_total", "Requests retried after 429, 5xx or a connection error, by log.", "log"),
		treeSize:     f.GaugeVec(prometheus.GaugeOpts{Name: "vigie_ct_tree_size_entries", Help: "Size of the latest verified tree head, by log."}, "log"),
		position:     f.GaugeVec(prometheus.GaugeOpts{Name: "vigie_ct_position_entries", Help: "Entries read and verified so far, by log."}, "log"),
		matches:      f.Counter(prometheus.CounterOpts{Name: "vigie_ct_matches_total", Help: "Log entries with a name on the watchlist."}),
		domains:      f.Gauge(prometheus.GaugeOpts{Name: "vigie_ct_watchlist_domains", Help: "Domains on the watchlist."}),
		reloads:      cv("vigie_ct_watchlist_reloads_total", "Watchlist loads, by result (ok, error).", "result"),
	}
}

// New builds the watch and loads its watchlist and logs.
func New(o Options) (*Watch, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = sleepCtx
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: o.Timeout}
	}
	if o.OnMatch == nil {
		o.OnMatch = func(CertMatch) {}
	}
	if o.OnLogError == nil {
		o.OnLogError = func(string, string, error) {}
	}
	w := &Watch{o: o, log: o.Logger, metrics: newMetrics(o.Metrics)}
	if err := w.ReloadWatchlist(); err != nil {
		if w.wl.Load() == nil && o.WatchlistFile != "" && errors.Is(err, os.ErrNotExist) {
			// The file (the DNS watch's inventory, say) may not be
			// written yet: start with the configured domains and pick
			// it up when it appears.
			w.log.Warn("ct watchlist file missing; watching the configured domains until it appears", "err", err)
			w.o.WatchlistFile, w.fileStamp = "", ""
			err = w.ReloadWatchlist()
			w.o.WatchlistFile = o.WatchlistFile
		}
		if err != nil {
			return nil, err
		}
	}
	logs := o.Logs
	if o.LogListFile != "" {
		data, err := os.ReadFile(o.LogListFile)
		if err != nil {
			return nil, fmt.Errorf("ct: log list: %w", err)
		}
		if logs, err = ParseLogList(data, false); err != nil {
			return nil, fmt.Errorf("ct: log list %s: %w", o.LogListFile, err)
		}
	}
	seen := map[[32]byte]bool{}
	for _, l := range logs {
		k, err := ParseLogKey(l.Key)
		if err != nil {
			return nil, fmt.Errorf("ct: log %s: %w", l.Name, err)
		}
		if seen[k.ID] {
			continue
		}
		seen[k.ID] = true
		w.logs = append(w.logs, logInfo{Name: l.Name, URL: l.URL, API: l.API, Key: k, client: w.newClient(l, k)})
	}
	return w, nil
}

func (w *Watch) newClient(l config.CTLog, k LogKey) logClient {
	name := l.Name
	f := &fetcher{client: w.o.Client, maxRetries: w.o.MaxRetries, maxBody: 64 << 20, backoff: time.Second,
		sleep: w.o.Sleep, onRetry: func(_ int, err error) {
			w.metrics.retries.WithLabelValues(name).Inc()
			// While it retries (minutes, backing off), the blind report
			// already says why the log is not polled.
			w.noteFailure(name, fmt.Errorf("%w (retrying)", err))
		}}
	if w.o.RateLimit > 0 {
		f.interval = time.Duration(float64(time.Second) / w.o.RateLimit)
	}
	base := trimSlash(l.URL)
	if l.API == "static" {
		origin := l.Origin
		if origin == "" {
			origin = strings.TrimPrefix(strings.TrimPrefix(base, "https://"), "http://")
		}
		return &staticClient{base: base, origin: origin, key: k, fetch: f}
	}
	return &rfc6962Client{base: base, key: k, fetch: f, batch: int64(w.o.BatchSize)}
}

// Name implements app.Watch.
func (w *Watch) Name() string { return watchName }

// Watchlist is the current watchlist.
func (w *Watch) Watchlist() *Watchlist { return w.wl.Load() }

// ReloadWatchlist builds the watchlist from the config and the file and
// swaps it in; matching goes on with the old one meanwhile. A file that
// cannot be read leaves the current list.
func (w *Watch) ReloadWatchlist() error {
	hint := len(w.o.Watchlist)
	if fi, err := os.Stat(w.o.WatchlistFile); err == nil && w.o.WatchlistFile != "" {
		hint += int(fi.Size() / 24) // a domain a line, and some lines carry name servers
	}
	b := newWatchlistBuilder(hint)
	add := func(e WatchEntry) {
		if len(e.Issuers) == 0 {
			if iss, ok := w.o.ExpectedIssuers[e.Domain]; ok {
				e.Issuers = iss
			} else if len(w.o.DefaultExpectedIssuers) > 0 {
				e.Issuers = w.o.DefaultExpectedIssuers
			}
		}
		b.add(e)
	}
	for _, d := range w.o.Watchlist {
		e, err := ParseWatchEntry(d)
		if err != nil {
			return fmt.Errorf("ct.watchlist: %w", err)
		}
		add(e)
	}
	stamp := ""
	if w.o.WatchlistFile != "" {
		f, err := os.Open(w.o.WatchlistFile)
		if err != nil {
			w.metrics.reloads.WithLabelValues("error").Inc()
			return fmt.Errorf("ct.watchlist_file: %w", err)
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			w.metrics.reloads.WithLabelValues("error").Inc()
			return fmt.Errorf("ct.watchlist_file: %w", err)
		}
		stamp = fmt.Sprint(fi.Size(), fi.ModTime().UnixNano())
		bad, err := readWatchlist(f, w.o.WatchlistFile, add)
		if err != nil {
			w.metrics.reloads.WithLabelValues("error").Inc()
			return fmt.Errorf("ct.watchlist_file: %w", err)
		}
		for _, e := range bad {
			w.log.Warn("watchlist line ignored", "err", e)
		}
	}
	wl := b.build()
	w.wl.Store(wl)
	w.mu.Lock()
	w.fileStamp = stamp
	w.mu.Unlock()
	w.metrics.domains.Set(float64(wl.Len()))
	w.metrics.reloads.WithLabelValues("ok").Inc()
	w.log.Info("ct watchlist loaded", "domains", wl.Len())
	return nil
}

// reloadLoop re-reads the watchlist file when its size or time changes.
func (w *Watch) reloadLoop(ctx context.Context) {
	if w.o.WatchlistFile == "" {
		return
	}
	t := time.NewTicker(w.o.ReloadInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fi, err := os.Stat(w.o.WatchlistFile)
		if err != nil {
			continue
		}
		w.mu.Lock()
		same := fmt.Sprint(fi.Size(), fi.ModTime().UnixNano()) == w.fileStamp
		w.mu.Unlock()
		if !same {
			if err := w.ReloadWatchlist(); err != nil {
				w.log.Error("ct watchlist reload failed, keeping the current one", "err", err)
			}
		}
	}
}

// Run follows every log until ctx is done. Its goroutines belong to the
// watch (package task): a panic in a follower or the watchlist reloader
// stops the others and returns as the watch's error (the supervisor
// restarts the CT watch alone); a follower that fails (its state cannot be
// loaded, the log is down) is retried with backoff while the others go on.
func (w *Watch) Run(ctx context.Context) error {
	if w.o.Once {
		var wg sync.WaitGroup
		errs := make([]error, len(w.logs))
		for i, l := range w.logs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f := &follower{w: w, log: l, lg: w.log, once: true}
				errs[i] = task.Safe("ct follower "+l.Name, func() error { return f.run(ctx) })
			}()
		}
		wg.Wait()
		return errors.Join(errs...)
	}
	g, gctx := task.New(ctx)
	g.Go("ct watchlist reloader", func() error { w.reloadLoop(gctx); return nil })
	if w.o.Node != "" && w.o.Store != nil {
		g.Go("ct leases", func() error { return w.runLeased(gctx) })
		return g.Wait()
	}
	for _, l := range w.logs {
		g.Go("ct follower "+l.Name, func() error { return w.followRetrying(gctx, l) })
	}
	return g.Wait()
}

// followRetrying follows one log until ctx is done, starting it again
// with backoff when it fails; a panic is returned.
func (w *Watch) followRetrying(ctx context.Context, l logInfo) error {
	backoff := w.o.PollInterval
	for {
		f := &follower{w: w, log: l, lg: w.log}
		err := task.Safe("ct follower "+l.Name, func() error { return f.run(ctx) })
		if ctx.Err() != nil || task.IsPanic(err) {
			return err
		}
		w.noteFailure(l.Name, err)
		w.log.Error("ct: log stopped; retrying", "log", l.Name, "err", err, "in", backoff)
		if sleepCtx(ctx, backoff) != nil {
			return nil
		}
		backoff = min(2*backoff, 5*time.Minute)
	}
}

// certFinding turns a match into a finding; keep is false for a
// certificate already reported (its precertificate, or from another log)
// or marked known-good.
func (w *Watch) certFinding(ctx context.Context, cm CertMatch, now time.Time) (vigie.Finding, bool, error) {
	fp := hex.EncodeToString(cm.SHA256[:])
	tbsHash := hex.EncodeToString(cm.Info.TBSHash[:])
	for _, k := range []string{"known-good/" + fp, "known-good/" + tbsHash, "seen/" + tbsHash} {
		if _, err := w.o.Store.GetState(ctx, watchName, k); err == nil {
			return vigie.Finding{}, false, nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return vigie.Finding{}, false, err
		}
	}
	var domains, expected []string
	seenD := map[string]bool{}
	for _, m := range cm.Matches {
		if !seenD[m.Domain] {
			seenD[m.Domain] = true
			domains = append(domains, m.Domain)
		}
		expected = append(expected, m.Issuers...)
	}
	logTime := time.UnixMilli(int64(cm.Timestamp)).UTC()
	sev := vigie.SeverityWarning
	verdict := "no expected issuer configured"
	if len(expected) > 0 {
		if IssuerExpected(cm.Info.IssuerOrg, expected) {
			sev, verdict = vigie.SeverityInfo, "expected issuer"
		} else {
			sev, verdict = vigie.SeverityCritical, "UNEXPECTED issuer"
		}
	}
	kind := "certificate"
	if cm.Precert {
		kind = "precertificate"
	}
	ev := map[string]string{
		"names":            joinLimited(cm.Info.Names, 100),
		"matched":          strings.Join(domains, ","),
		"issuer":           cm.Info.Issuer,
		"serial":           cm.Info.Serial,
		"not_before":       cm.Info.NotBefore.UTC().Format(time.RFC3339),
		"not_after":        cm.Info.NotAfter.UTC().Format(time.RFC3339),
		"log":              cm.Log,
		"index":            fmt.Sprint(cm.Index),
		"log_timestamp":    logTime.Format(time.RFC3339Nano),
		"entry_type":       kind,
		"sha256":           fp,
		"tbs_sha256":       tbsHash,
		"issuer_verdict":   verdict,
		"expected_issuers": strings.Join(expected, ","),
	}
	f := vigie.Finding{Watch: watchName, Rule: string(RuleCertificate), Subject: domains[0], Key: "ct/" + string(RuleCertificate) + "/" + tbsHash,
		Severity: sev, Time: now, Evidence: ev,
		Summary: fmt.Sprintf("%s for %s issued by %s (%s), logged in %s #%d", kind, printable(joinLimited(cm.Info.Names, 5)),
			printable(cm.Info.IssuerOrg), verdict, cm.Log, cm.Index)}
	issued := cm.Info.NotBefore
	if cm.Timestamp > 0 {
		issued = logTime
	}
	in, ok, err := IncidentFor(ctx, w.o.Store, cm.Info.Names, issued, w.o.IncidentMargin)
	if err != nil {
		return vigie.Finding{}, false, err
	}
	if ok {
		f.Group = in.Key
		f.Severity = vigie.SeverityCritical
		ev["incident"] = fmt.Sprint(in.ID)
		f.Summary += fmt.Sprintf("; issued during open DNS incident #%d", in.ID)
	}
	return f, true, nil
}

func (w *Watch) markSeen(ctx context.Context, tbsHash string) {
	if tbsHash == "" {
		return
	}
	if err := w.o.Store.PutState(ctx, watchName, "seen/"+tbsHash, []byte("1")); err != nil {
		w.log.Error("cannot record a reported certificate", "err", err)
	}
}

// recordMalformed keeps one alert per log for entries that could not be
// parsed, its count growing with each.
func (w *Watch) recordMalformed(ctx context.Context, log string, index int64, perr error) {
	fd := vigie.Finding{Watch: watchName, Rule: string(RuleMalformedEntry), Subject: log, Severity: vigie.SeverityInfo, Time: w.o.Now(),
		Summary:  fmt.Sprintf("CT log %s: entry %d could not be parsed: %v", log, index, perr),
		Evidence: map[string]string{"log": log, "index": fmt.Sprint(index), "error": perr.Error()}}
	if err := w.o.Sink.Emit(ctx, fd); err != nil {
		w.log.Error("cannot emit finding", "err", err)
	}
}

func joinLimited(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ",")
	}
	return strings.Join(names[:n], ",") + fmt.Sprintf(",(+%d more)", len(names)-n)
}

// printable escapes control characters so that a summary stays one line;
// HTML is escaped by whoever renders it.
func printable(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			fmt.Fprintf(&b, "\\x%02x", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
