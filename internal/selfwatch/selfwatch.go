// Package selfwatch is the `vigie` watch: vigie watching itself. A lookout
// that stops looking without saying so is worse than none, so every way
// vigie can go blind is a finding through the same pipeline as the rest
// (one incident per cause): a watch down or restarting in a loop, a watch
// reporting itself blind (a mail log that stopped advancing while Postfix
// works, a CT log falling behind, a DNS sweep overdue), a notifier failing
// for a while (the other notifiers hear of it), the store's disk nearly
// full. The same check answers /healthz.
package selfwatch

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/vigie/vigie/internal/health"
	"github.com/vigie/vigie/internal/vigie"
)

// Name is the self-watch's name: the Watch of its findings.
const Name = "vigie"

// The self-watch's own causes; the watches' blind causes pass through.
const (
	CauseWatchDown       health.Cause = "watch-down"
	CauseRestartLoop     health.Cause = "watch-restarting"
	CauseNotifierFailing health.Cause = "notifier-failing"
	CauseStoreFull       health.Cause = "store-near-full"
)

// WatchState is one supervised watch as its supervisor sees it.
type WatchState struct {
	Name      string
	Up        bool
	Since     time.Time // when it last started (up) or failed (down)
	Restarts  int       // failures within the restart window
	LastError string
	Reports   bool          // the watch implements health.Reporter
	Report    health.Report // what it said, when it reports
}

// NotifierState is one notifier's delivery health.
type NotifierState struct {
	Name         string
	FailingSince time.Time // zero: its last try succeeded
	LastError    string
	LastOK       time.Time
}

// Source is what the self-watch reads: the app's supervisor and pipeline.
type Source interface {
	Watches(now time.Time) []WatchState
	Notifiers() []NotifierState
}

// Sink receives the self-watch's findings (the alert pipeline).
type Sink interface {
	Emit(ctx context.Context, f vigie.Finding) error
}

// Options tune the checks. Zero values take the defaults shown.
type Options struct {
	Source Source
	Sink   Sink
	Logger *slog.Logger
	Now    func() time.Time
	// Every is how often it checks (30s); a finding it stops repeating
	// resolves after three checks.
	Every time.Duration
	// DownAfter is how long a watch may wait to restart before it is
	// reported down (1m): one failure restarted at once is not an alert.
	DownAfter time.Duration
	// RestartLoop reports a watch that failed this many times within the
	// supervisor's window (3).
	RestartLoop int
	// NotifierAfter is how long a notifier may fail before the others hear
	// of it (10m).
	NotifierAfter time.Duration
	// DataDir is the SQLite store's directory ("" with PostgreSQL): its
	// file system is checked for room.
	DataDir string
	// MinFreeBytes and MinFreeRatio: the store is near full below either
	// (256 MiB, 5%).
	MinFreeBytes uint64
	MinFreeRatio float64
	// DiskSpace reports a directory's file system size and free space
	// (tests); nil: statfs.
	DiskSpace func(dir string) (total, free uint64, err error)
}

func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Every, 30*time.Second)
	def(&o.DownAfter, time.Minute)
	def(&o.NotifierAfter, 10*time.Minute)
	if o.RestartLoop <= 0 {
		o.RestartLoop = 3
	}
	if o.MinFreeBytes == 0 {
		o.MinFreeBytes = 256 << 20
	}
	if o.MinFreeRatio == 0 {
		o.MinFreeRatio = 0.05
	}
	if o.DiskSpace == nil {
		o.DiskSpace = diskSpace
	}
}

// Watch is the self-watch.
type Watch struct {
	o   Options
	log *slog.Logger
}

// New returns the self-watch.
func New(o Options) *Watch {
	o.defaults()
	return &Watch{o: o, log: o.Logger.With("component", Name)}
}

// Name implements the watch interface.
func (w *Watch) Name() string { return Name }

// Run checks every Every until ctx is done.
func (w *Watch) Run(ctx context.Context) error {
	t := time.NewTicker(w.o.Every)
	defer t.Stop()
	for {
		for _, f := range w.Check(w.o.Now()) {
			if err := w.o.Sink.Emit(ctx, f); err != nil && ctx.Err() == nil {
				w.log.Error("emitting a blindness finding", "rule", f.Rule, "subject", f.Subject, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Check returns one finding per cause of blindness now; none when vigie
// sees everything it should.
func (w *Watch) Check(now time.Time) []vigie.Finding {
	var out []vigie.Finding
	add := func(cause health.Cause, subject string, sev vigie.Severity, summary string, ev map[string]string) {
		out = append(out, vigie.Finding{Watch: Name, Rule: string(cause), Subject: subject, Severity: sev, Time: now,
			Summary: summary, Evidence: ev, Group: Name + "/" + string(cause), ResolveAfter: 3 * w.o.Every})
	}
	src := w.o.Source
	for _, s := range src.Watches(now) {
		if s.Name == Name {
			continue
		}
		ev := map[string]string{"watch": s.Name, "restarts": fmt.Sprint(s.Restarts)}
		if s.LastError != "" {
			ev["last_error"] = firstLine(s.LastError)
		}
		if !s.Up && now.Sub(s.Since) >= w.o.DownAfter {
			ev["down_since"] = s.Since.UTC().Format(time.RFC3339)
			add(CauseWatchDown, s.Name, vigie.SeverityCritical,
				fmt.Sprintf("the %s watch is down since %s: vigie does not see what it watches", s.Name, s.Since.UTC().Format(time.RFC3339)), ev)
		} else if s.Restarts >= w.o.RestartLoop {
			add(CauseRestartLoop, s.Name, vigie.SeverityWarning,
				fmt.Sprintf("the %s watch failed %d times recently and keeps restarting", s.Name, s.Restarts), ev)
		}
		if !s.Up {
			continue // a down watch's own report is stale
		}
		for _, b := range s.Report.Blind {
			ev := map[string]string{"watch": s.Name}
			for k, v := range b.Evidence {
				ev[k] = v
			}
			if !s.Report.LastSuccess.IsZero() {
				ev["last_success"] = s.Report.LastSuccess.UTC().Format(time.RFC3339)
			}
			subject := b.Subject
			if subject == "" {
				subject = s.Name
			}
			add(b.Cause, subject, vigie.SeverityCritical, b.Summary, ev)
		}
	}
	for _, n := range src.Notifiers() {
		if n.FailingSince.IsZero() || now.Sub(n.FailingSince) < w.o.NotifierAfter {
			continue
		}
		ev := map[string]string{"notifier": n.Name, "failing_since": n.FailingSince.UTC().Format(time.RFC3339), "last_error": n.LastError}
		if !n.LastOK.IsZero() {
			ev["last_delivered"] = n.LastOK.UTC().Format(time.RFC3339)
		}
		add(CauseNotifierFailing, n.Name, vigie.SeverityCritical,
			fmt.Sprintf("notifier %s has failed to deliver for %s: its receivers hear nothing from vigie", n.Name,
				now.Sub(n.FailingSince).Round(time.Second)), ev)
	}
	if w.o.DataDir != "" {
		total, free, err := w.o.DiskSpace(w.o.DataDir)
		if err == nil && total > 0 && (free < w.o.MinFreeBytes || float64(free)/float64(total) < w.o.MinFreeRatio) {
			add(CauseStoreFull, w.o.DataDir, vigie.SeverityCritical,
				fmt.Sprintf("the store's disk is nearly full: %d MiB free of %d MiB; vigie will stop recording", free>>20, total>>20),
				map[string]string{"dir": w.o.DataDir, "free_bytes": fmt.Sprint(free), "total_bytes": fmt.Sprint(total)})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Rule < out[j].Rule })
	return out
}

func firstLine(s string) string {
	for i, r := range s {
		if r == '\n' {
			return s[:i]
		}
	}
	return s
}
