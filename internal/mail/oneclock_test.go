package mail

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/mail/mailgen"
	"github.com/vigie/vigie/internal/replay"
	"github.com/vigie/vigie/internal/store/sqlite"
	"github.com/vigie/vigie/internal/vigie"
)

type recSink struct {
	mu sync.Mutex
	fs []vigie.Finding
}

func (r *recSink) Emit(_ context.Context, f vigie.Finding) error {
	r.mu.Lock()
	r.fs = append(r.fs, f)
	r.mu.Unlock()
	return nil
}

func findingLines(fs []vigie.Finding) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s %s %s %s resolved=%v %s", f.Time.UTC().Format(time.RFC3339Nano), f.Rule, f.Subject, f.Severity, f.Resolved, f.Summary))
	}
	return out
}

// One clock: the same log gives the same findings through `vigie replay`
// (the replay package, the log's time as the clock) and through the
// daemon's watch following the file, stopped and restarted in the middle
// of a slow attack and read partly as a backlog. Between the two runs the
// detectors' state lives in the store.
func TestReplayEqualsDaemonAcrossRestart(t *testing.T) {
	d1 := day0.Add(24 * time.Hour)
	s := mailgen.Scenario{Start: day0, End: d1.Add(18 * time.Hour), Seed: 11, Users: 12, PerUserPerDay: 25, InboundPerHour: 20,
		Bursts: []mailgen.Burst{
			{User: "user03@example.org", Start: d1.Add(9 * time.Hour), Every: 110 * time.Second, Count: 80}, // slow: about 2.5 hours
			{User: "user05@example.org", Start: d1.Add(15 * time.Hour), Every: time.Second, Count: 300},
		},
		FailIP: "192.0.2.50", FailUser: "user07@example.org", FailStart: d1.Add(10 * time.Hour), FailEvery: 20 * time.Second, FailCount: 60}
	var buf bytes.Buffer
	if _, err := s.Write(&buf); err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(buf.String(), "\n")
	dir := t.TempDir()
	full := filepath.Join(dir, "full.log")
	os.WriteFile(full, buf.Bytes(), 0o644)
	cfg := config.Default().Mail

	// Replay.
	var want []vigie.Finding
	_, err := replay.Run(context.Background(), replay.Options{Out: io.Discard, Sets: []replay.NewSet{func(emit func(vigie.Finding)) (replay.Set, error) {
		return NewEngine(EngineOptions{Config: cfg, Emit: func(f vigie.Finding) { want = append(want, f); emit(f) }}), nil
	}}}, []string{full})
	if err != nil {
		t.Fatal(err)
	}

	// The daemon: the file grows in three parts; the watch is stopped
	// after the second (in the middle of the slow attack) and restarted
	// while the third is already written (a backlog).
	logPath := filepath.Join(dir, "mail.log")
	os.WriteFile(logPath, nil, 0o644)
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "v.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cfg.Source, cfg.LogFile, cfg.PollInterval, cfg.Queue.Enabled = "file", logPath, 10*time.Millisecond, config.SwitchOff
	var wall atomic.Int64 // the wall clock: the newest line written (the log is live)
	sink := &recSink{}
	written := 0
	appendUntil := func(until time.Time) {
		f, _ := os.OpenFile(logPath, os.O_APPEND|os.O_WRONLY, 0)
		defer f.Close()
		for written < len(lines) {
			l := lines[written]
			if l == "" {
				written++
				continue
			}
			at, err := time.Parse(time.RFC3339Nano, l[:strings.IndexByte(l, ' ')])
			if err == nil && at.After(until) {
				break
			}
			f.WriteString(l)
			if err == nil {
				wall.Store(at.UnixNano())
			}
			written++
		}
	}
	size := func() int64 { fi, _ := os.Stat(logPath); return fi.Size() }
	run := func(parts ...time.Time) {
		w, err := New(ctx, Options{Config: cfg, Store: db, Sink: sink, FromStart: true, Now: func() time.Time { return time.Unix(0, wall.Load()) }})
		if err != nil || w == nil {
			t.Fatalf("New: %v", err)
		}
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- w.Run(rctx) }()
		for _, p := range parts {
			appendUntil(p)
			waitOffset(t, db, size())
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	run(d1.Add(9*time.Hour+30*time.Minute), d1.Add(10*time.Hour+20*time.Minute))
	appendUntil(d1.Add(16 * time.Hour)) // written while vigie was down
	run(d1.Add(24 * time.Hour))

	got := findingLines(sink.fs)
	exp := findingLines(want)
	if strings.Join(got, "\n") != strings.Join(exp, "\n") {
		t.Errorf("daemon and replay differ:\n%s", diffLines(exp, got))
	}
	rules := map[string]bool{}
	for _, f := range want {
		rules[f.Rule+" "+f.Subject] = true
	}
	for _, r := range []string{string(RuleAccountVolume) + " user03@example.org", string(RuleAccountVolume) + " user05@example.org", string(RuleBruteForceIP) + " 192.0.2.50"} {
		if !rules[r] {
			t.Errorf("the scenario lacks %s: %v", r, rules)
		}
	}
}

func waitOffset(t *testing.T, db interface {
	GetState(ctx context.Context, watch, key string) ([]byte, error)
}, min int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := db.GetState(context.Background(), WatchName, stateCursor); err == nil {
			var off int64
			if i := bytes.Index(b, []byte(`"offset":`)); i >= 0 {
				fmt.Sscan(string(b[i+9:]), &off)
			}
			if off >= min {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("cursor never reached %d", min)
}

func diffLines(want, got []string) string {
	var b strings.Builder
	w, g := map[string]bool{}, map[string]bool{}
	for _, l := range want {
		w[l] = true
	}
	for _, l := range got {
		g[l] = true
	}
	var only []string
	for l := range w {
		if !g[l] {
			only = append(only, "replay only: "+l)
		}
	}
	for l := range g {
		if !w[l] {
			only = append(only, "daemon only: "+l)
		}
	}
	sort.Strings(only)
	for _, l := range only {
		b.WriteString(l + "\n")
	}
	fmt.Fprintf(&b, "(%d findings in replay, %d in the daemon)", len(want), len(got))
	return b.String()
}
