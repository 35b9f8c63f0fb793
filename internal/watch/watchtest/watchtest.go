// Package watchtest is the conformance suite every watch passes, in the
// spirit of store/storetest: what the rest of vigie assumes of a watch's
// descriptor is checked against the watch itself.
//
//   - Absent: under auto with nothing to watch on this machine, Build
//     starts nothing, returns no error, and logs why.
//   - Run: a short run of the watch on its test input writes every series
//     the descriptor declares (the dashboard draws them) and every evidence
//     key its report reads (the incident report shows them).
//
// A watch's own test calls them with its test input:
//
//	func TestConformance(t *testing.T) {
//		watchtest.Absent(t, Descriptor(), absentConfig(t))
//		watchtest.Run(t, Descriptor(), inputConfig(t), 20*time.Second)
//	}
//
// Names are checked over the whole list (internal/watches).
package watchtest

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/metrics"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/store/sqlite"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
)

// Absent checks that, with cfg (the watch's section on auto, or as
// configured by default, and none of its inputs present), Build starts
// nothing, fails not, and says why in the log at Info or above.
func Absent(t *testing.T, d *watch.Descriptor, cfg *config.Config) {
	t.Helper()
	var log syncBuffer
	deps := watch.Deps{Config: cfg, DataDir: t.TempDir(), Store: openStore(t), Sink: &recorder{},
		Logger:  slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Metrics: metrics.New(prometheus.NewRegistry()), Now: time.Now}
	ws, err := d.Build(deps)
	if err != nil {
		t.Fatalf("%s: with nothing to watch, Build failed: %v", d.Name, err)
	}
	if len(ws) != 0 {
		t.Fatalf("%s: with nothing to watch, Build started %d watches", d.Name, len(ws))
	}
	if strings.TrimSpace(log.String()) == "" {
		t.Errorf("%s: starting nothing, Build did not say why in the log", d.Name)
	}
}

// Run builds the watch from cfg (its test input), runs it until it wrote
// every declared series and every evidence key its report reads, or until
// timeout, and fails naming what is missing. The store is a real one
// (SQLite in a temporary directory).
func Run(t *testing.T, d *watch.Descriptor, cfg *config.Config, timeout time.Duration) {
	t.Helper()
	RunWith(t, d, cfg, timeout, nil)
}

// RunWith is Run with input arriving while the watch runs: input is
// called, in its own goroutine, once the watch is started, with the
// store the watch writes (to wait for a first sweep before changing what
// it watches: a DNS delegation hijacked once the baseline is learned). Its
// context ends when the run does.
func RunWith(t *testing.T, d *watch.Descriptor, cfg *config.Config, timeout time.Duration, input func(ctx context.Context, st store.Store)) {
	t.Helper()
	RunIn(t, d, cfg, t.TempDir(), timeout, input)
}

// RunIn is RunWith with the data directory given: a watch that reads
// files of its own there at Build (the DNS watch's RDAP bootstrap) finds
// the test's.
func RunIn(t *testing.T, d *watch.Descriptor, cfg *config.Config, dataDir string, timeout time.Duration, input func(ctx context.Context, st store.Store)) {
	t.Helper()
	st := &seriesStore{Store: openStore(t), seen: map[string]bool{}}
	sink := &recorder{}
	deps := watch.Deps{Config: cfg, DataDir: dataDir, Store: st, Sink: sink,
		Logger: slog.New(slog.DiscardHandler), Metrics: metrics.New(prometheus.NewRegistry()), Now: time.Now}
	ws, err := d.Build(deps)
	if err != nil {
		t.Fatalf("%s: Build: %v", d.Name, err)
	}
	if len(ws) == 0 {
		t.Fatalf("%s: Build started nothing on the test input", d.Name)
	}
	for _, w := range ws {
		if w.Name() != string(d.Name) {
			t.Errorf("a watch built by %s calls itself %q", d.Name, w.Name())
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Add(1)
		go func() { defer wg.Done(); w.Run(ctx) }()
	}
	if input != nil {
		wg.Add(1)
		go func() { defer wg.Done(); input(ctx, st) }()
	}
	defer func() { cancel(); wg.Wait() }()
	missing := func() []string {
		var out []string
		for _, s := range d.Series {
			if !st.wrote(string(s.Name)) {
				out = append(out, "series "+string(s.Name))
			}
		}
		if d.Report != nil {
			for _, k := range d.Report.Evidence {
				if !sink.has(string(k)) {
					out = append(out, "evidence "+string(k))
				}
			}
		}
		return out
	}
	deadline := time.Now().Add(timeout)
	for len(missing()) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if m := missing(); len(m) > 0 {
		t.Errorf("%s: a run on its test input wrote none of: %s (its descriptor says the dashboard and the reports read them)",
			d.Name, strings.Join(m, ", "))
	}
	for _, f := range sink.all() {
		if f.Watch != string(d.Name) && !(d.Report != nil && d.Report.Owns != nil) {
			t.Errorf("%s emitted a finding of watch %q", d.Name, f.Watch)
		}
	}
}

func openStore(t *testing.T) store.Store {
	t.Helper()
	db, err := sqlite.Open(context.Background(), t.TempDir()+"/vigie.db", sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// seriesStore is a store that remembers which series were written.
type seriesStore struct {
	store.Store
	mu   sync.Mutex
	seen map[string]bool
}

func (s *seriesStore) AddSamples(ctx context.Context, ss []vigie.Sample) error {
	s.mu.Lock()
	for _, x := range ss {
		s.seen[x.Series] = true
	}
	s.mu.Unlock()
	return s.Store.AddSamples(ctx, ss)
}

func (s *seriesStore) wrote(series string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[series]
}

// recorder is a Sink that keeps what it gets, refusing what the pipeline
// would refuse.
type recorder struct {
	mu sync.Mutex
	fs []vigie.Finding
}

func (r *recorder) Emit(_ context.Context, f vigie.Finding) error {
	if err := f.Validate(); err != nil {
		return err
	}
	r.mu.Lock()
	r.fs = append(r.fs, f)
	r.mu.Unlock()
	return nil
}

func (r *recorder) all() []vigie.Finding {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]vigie.Finding(nil), r.fs...)
}

// has says whether a finding carried evidence key k with a value.
func (r *recorder) has(k string) bool {
	for _, f := range r.all() {
		if f.Evidence[k] != "" {
			return true
		}
	}
	return false
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
