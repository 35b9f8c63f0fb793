package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
)

// fakeWatch is a watch whose behaviour the test scripts.
type fakeWatch struct {
	name  string
	runs  atomic.Int32
	run   func(ctx context.Context, n int32, d Deps) error
	deps  Deps
	onRun chan int32
}

func (w *fakeWatch) Name() string { return w.name }
func (w *fakeWatch) Run(ctx context.Context) error {
	n := w.runs.Add(1)
	if w.onRun != nil {
		w.onRun <- n
	}
	return w.run(ctx, n, w.deps)
}

func blockUntilDone(ctx context.Context, _ int32, _ Deps) error { <-ctx.Done(); return nil }

type harness struct {
	app    *App
	reg    *prometheus.Registry
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, cfg *config.Config, builders ...Builder) *harness {
	t.Helper()
	if cfg == nil {
		cfg = config.Default()
		cfg.HTTP.Listen = "127.0.0.1:0"
	}
	reg := prometheus.NewRegistry()
	a, err := New(context.Background(), Options{Config: cfg, DataDir: t.TempDir(), Registry: reg, Builders: builders,
		RestartBackoff: 10 * time.Millisecond, Version: "test",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{app: a, reg: reg, cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- a.Run(ctx) }()
	select {
	case <-a.Ready():
	case err := <-h.done:
		t.Fatalf("app stopped at start: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("app not ready after 5s")
	}
	t.Cleanup(func() { h.stop(t) })
	return h
}

func (h *harness) stop(t *testing.T) time.Duration {
	t.Helper()
	h.cancel()
	began := time.Now()
	select {
	case err := <-h.done:
		if err != nil {
			t.Errorf("Run returned %v", err)
		}
		h.done <- nil // later stops return at once
	case <-time.After(5 * time.Second):
		t.Fatal("app did not stop within 5s")
	}
	return time.Since(began)
}

func builderOf(ws ...*fakeWatch) Builder {
	return func(d Deps) ([]Watch, error) {
		out := make([]Watch, len(ws))
		for i, w := range ws {
			w.deps = d
			out[i] = w
		}
		return out, nil
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFailingWatchIsRestartedAndOthersKeepRunning(t *testing.T) {
	flaky := &fakeWatch{name: "flaky", run: func(ctx context.Context, n int32, _ Deps) error {
		if n <= 3 {
			return fmt.Errorf("failure %d", n)
		}
		if n == 4 {
			panic("a bug in a parser")
		}
		<-ctx.Done()
		return nil
	}}
	steady := &fakeWatch{name: "steady", run: blockUntilDone}
	h := start(t, nil, builderOf(flaky, steady))
	eventually(t, "flaky to run a 5th time", func() bool { return flaky.runs.Load() >= 5 })
	if steady.runs.Load() != 1 {
		t.Errorf("steady ran %d times, want 1", steady.runs.Load())
	}
	restarts := testutil.ToFloat64(h.app.watchRestarts.WithLabelValues("flaky"))
	if restarts != 4 {
		t.Errorf("restarts = %v, want 4 (3 errors and a panic)", restarts)
	}
	eventually(t, "flaky to be up", func() bool { return testutil.ToFloat64(h.app.watchUp.WithLabelValues("flaky")) == 1 })
}

func TestStopsWithinDeadlineEvenIfAWatchHangs(t *testing.T) {
	hang := &fakeWatch{name: "hang", run: func(ctx context.Context, _ int32, _ Deps) error {
		time.Sleep(time.Minute) // ignores ctx
		return nil
	}, onRun: make(chan int32, 1)}
	h := start(t, nil, builderOf(hang))
	<-hang.onRun
	if d := h.stop(t); d > 5*time.Second {
		t.Errorf("stop took %v", d)
	}
}

func TestHTTPEndpoints(t *testing.T) {
	h := start(t, nil)
	base := "http://" + h.app.HTTPAddr().String()
	for path, want := range map[string]string{
		"/healthz":       `"status":"ok"`,
		"/readyz":        "ready",
		"/metrics":       "vigie_build_info{",
		"/api/v1/alerts": `"alerts": []`,
	} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("%s: %d, body lacks %q", path, resp.StatusCode, want)
		}
	}
	for _, m := range []string{"go_goroutines", "process_open_fds"} {
		if n, err := testutil.GatherAndCount(h.reg, m); err != nil || n == 0 {
			t.Errorf("%s not exported (%v)", m, err)
		}
	}
}

func TestFindingsFromAWatchBecomeAlerts(t *testing.T) {
	w := &fakeWatch{name: "mail", run: func(ctx context.Context, _ int32, d Deps) error {
		err := d.Sink.Emit(ctx, vigie.Finding{Watch: "mail", Rule: "account-volume", Subject: "alice",
			Severity: vigie.SeverityCritical, Summary: "alice sent 3600 mails in an hour"})
		if err != nil {
			return err
		}
		<-ctx.Done()
		return nil
	}}
	h := start(t, nil, builderOf(w))
	eventually(t, "the alert", func() bool {
		as, _ := h.app.Store().ListAlerts(context.Background(), store.AlertQuery{})
		return len(as) == 1 && as[0].Subject == "alice"
	})
}

func TestReloadSwapsWatchesAndRejectsBadBuilds(t *testing.T) {
	var mu sync.Mutex
	var built []string
	builder := func(d Deps) ([]Watch, error) {
		if d.Config.Log.Level == "error" { // the test's way of making a build fail
			return nil, errors.New("mail: log file /nope: no such file")
		}
		w := &fakeWatch{name: "w-" + d.Config.Log.Level, run: blockUntilDone}
		mu.Lock()
		built = append(built, w.name)
		mu.Unlock()
		return []Watch{w}, nil
	}
	h := start(t, nil, builder)
	cfg := config.Default()
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Log.Level = "debug"
	if err := h.app.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	bad := config.Default()
	bad.Log.Level = "error"
	if err := h.app.Reload(bad); err == nil || !strings.Contains(err.Error(), "previous configuration keeps running") {
		t.Fatalf("bad reload error = %v", err)
	}
	h.app.mu.Lock()
	running := []string{}
	for _, s := range h.app.watches {
		running = append(running, s.name)
	}
	level := h.app.cfg.Log.Level
	h.app.mu.Unlock()
	if len(running) != 2 || running[0] != "w-debug" || running[1] != "vigie" || level != "debug" {
		t.Errorf("after a rejected reload: watches %v, level %s; want the debug ones", running, level)
	}
	if ok := testutil.ToFloat64(h.app.reloads.WithLabelValues("ok")); ok != 1 {
		t.Errorf("ok reloads = %v", ok)
	}
	if e := testutil.ToFloat64(h.app.reloads.WithLabelValues("error")); e != 1 {
		t.Errorf("failed reloads = %v", e)
	}
}

func TestUnwritableDataDir(t *testing.T) {
	dir := t.TempDir() + "/file"
	if err := os.WriteFile(dir, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := New(context.Background(), Options{Config: config.Default(), DataDir: dir + "/sub"})
	if err == nil || !strings.Contains(err.Error(), dir+"/sub") {
		t.Errorf("err = %v, want it to name the data directory", err)
	}
}
