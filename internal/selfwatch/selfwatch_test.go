package selfwatch

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/health"
	"github.com/vigie/vigie/internal/vigie"
)

type source struct {
	watches   []WatchState
	notifiers []NotifierState
}

func (s *source) Watches(time.Time) []WatchState { return s.watches }
func (s *source) Notifiers() []NotifierState     { return s.notifiers }

var t0 = time.Date(2024, 9, 29, 13, 0, 0, 0, time.UTC)

func TestCheckFindsEachCauseOnce(t *testing.T) {
	src := &source{
		watches: []WatchState{
			{Name: "mail", Up: true, Since: t0.Add(-time.Hour), Reports: true, Report: health.Report{LastSuccess: t0.Add(-20 * time.Minute),
				Blind: []health.Blind{{Cause: "mail-log-stalled", Subject: "/var/log/mail.log", Summary: "stalled"}}}},
			{Name: "dns", Up: false, Since: t0.Add(-2 * time.Minute), Restarts: 5, LastError: "dns: resolver\nstack"},
			{Name: "web", Up: false, Since: t0.Add(-10 * time.Second), Restarts: 1}, // just failed: not yet
			{Name: "ct", Up: true, Since: t0.Add(-time.Minute), Restarts: 4},
			{Name: "blocklist", Up: true, Since: t0.Add(-time.Hour)},
		},
		notifiers: []NotifierState{
			{Name: "ops-mail", FailingSince: t0.Add(-15 * time.Minute), LastError: "dial tcp: refused"},
			{Name: "matrix", FailingSince: t0.Add(-time.Minute)}, // failing, not for long
			{Name: "webhook"},
		},
	}
	w := New(Options{Source: src, DataDir: "/var/lib/vigie", DiskSpace: func(string) (uint64, uint64, error) { return 100 << 30, 3 << 30, nil }})
	got := map[string]vigie.Finding{}
	for _, f := range w.Check(t0) {
		if err := f.Validate(); err != nil {
			t.Errorf("invalid finding %+v: %v", f, err)
		}
		k := f.Rule + " " + f.Subject
		if _, dup := got[k]; dup {
			t.Errorf("%s found twice", k)
		}
		if f.Group != Name+"/"+f.Rule {
			t.Errorf("%s: group %q, want one incident per cause", k, f.Group)
		}
		got[k] = f
	}
	want := []string{"mail-log-stalled /var/log/mail.log", "watch-down dns", "watch-restarting ct", "notifier-failing ops-mail", "store-near-full /var/lib/vigie"}
	for _, k := range want {
		if _, ok := got[k]; !ok {
			t.Errorf("missing %s", k)
		}
	}
	if len(got) != len(want) {
		t.Errorf("found %d causes, want %d: %v", len(got), len(want), got)
	}
	if e := got["watch-down dns"].Evidence["last_error"]; e != "dns: resolver" {
		t.Errorf("last_error evidence %q", e)
	}
	st, ok := w.Status(t0)
	if ok || st.Status != "blind" || len(st.Blind) != len(want) {
		t.Errorf("status ok=%v %+v", ok, st)
	}
}

func TestHealthyIsOKAndQuiet(t *testing.T) {
	src := &source{watches: []WatchState{{Name: "mail", Up: true, Since: t0.Add(-time.Hour)}}, notifiers: []NotifierState{{Name: "log"}}}
	w := New(Options{Source: src, DataDir: "/d", DiskSpace: func(string) (uint64, uint64, error) { return 100 << 30, 50 << 30, nil }})
	if fs := w.Check(t0); len(fs) != 0 {
		t.Errorf("findings on a healthy vigie: %+v", fs)
	}
	if st, ok := w.Status(t0); !ok || st.Status != "ok" {
		t.Errorf("status %+v", st)
	}
	// A watch down for a second (restarting) is not an alert yet, but
	// /healthz says so.
	src.watches[0] = WatchState{Name: "mail", Up: false, Since: t0.Add(-time.Second), Restarts: 1}
	if fs := w.Check(t0); len(fs) != 0 {
		t.Errorf("findings for a watch restarting once: %+v", fs)
	}
	if _, ok := w.Status(t0); ok {
		t.Error("/healthz ok while a watch is down")
	}
}

type sink struct {
	mu sync.Mutex
	fs []vigie.Finding
}

func (s *sink) Emit(_ context.Context, f vigie.Finding) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fs = append(s.fs, f)
	return errors.New("store down") // logged, the watch goes on
}

func TestRunEmitsEveryCheck(t *testing.T) {
	src := &source{notifiers: []NotifierState{{Name: "slack", FailingSince: time.Now().Add(-time.Hour), LastError: "HTTP 500"}}}
	s := &sink{}
	w := New(Options{Source: src, Sink: s, Every: 10 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := w.Run(ctx); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.fs) < 3 || !strings.Contains(s.fs[0].Summary, "slack") || s.fs[0].ResolveAfter != 30*time.Millisecond {
		t.Errorf("%d findings: %+v", len(s.fs), s.fs)
	}
}
