package mail

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/alert"
	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/mail/mailgen"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/store/sqlite"
)

// On its first start the watch learns habits from the log's history
// (without alerting on it), then follows the file from there: the weekly
// newsletter that history shows does not alert live, a stolen password
// does, and a restart neither re-learns nor re-reads.
func TestWatchLearnsHistoryThenFollows(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "mail.log")
	hist := mailgen.Scenario{Start: day0, End: day0.Add(14 * 24 * time.Hour), Seed: 4, Users: 8, PerUserPerDay: 20,
		Newsletter: "news@example.org", NewsletterDay: time.Monday, NewsletterCount: 300}
	var buf bytes.Buffer
	hist.Write(&buf)
	os.WriteFile(logPath, buf.Bytes(), 0o644)

	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "v.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cfg := config.Default().Mail
	cfg.Source, cfg.LogFile, cfg.PollInterval, cfg.Queue.Enabled = "file", logPath, 20*time.Millisecond, config.SwitchOff
	start := func() (context.CancelFunc, chan error) {
		w, err := New(ctx, Options{Config: cfg, Store: db, Sink: alert.New(alert.Options{Store: db})})
		if err != nil || w == nil {
			t.Fatalf("New: %v", err)
		}
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- w.Run(rctx) }()
		return cancel, done
	}
	waitCursor := func(min int64) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if b, err := db.GetState(ctx, WatchName, stateCursor); err == nil && bytes.Contains(b, []byte(`"offset"`)) {
				var off int64
				if i := bytes.Index(b, []byte(`"offset":`)); i >= 0 {
					for _, c := range b[i+9:] {
						if c < '0' || c > '9' {
							break
						}
						off = off*10 + int64(c-'0')
					}
				}
				if off >= min {
					return
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("cursor never reached %d", min)
	}
	cancel, done := start()
	waitCursor(int64(buf.Len()))
	if as, _ := db.ListAlerts(ctx, store.AlertQuery{}); len(as) != 0 {
		t.Fatalf("history alerted: %+v", as)
	}

	// Live: the third Monday's newsletter, then a stolen password.
	live := mailgen.Scenario{Start: day0.Add(14 * 24 * time.Hour), End: day0.Add(14*24*time.Hour + 12*time.Hour), Seed: 5,
		Newsletter: "news@example.org", NewsletterDay: time.Monday, NewsletterCount: 300,
		Bursts: []mailgen.Burst{{User: "user03@example.org", Start: day0.Add(14*24*time.Hour + 11*time.Hour), Every: time.Second, Count: 120}}}
	var more bytes.Buffer
	live.Write(&more)
	f, _ := os.OpenFile(logPath, os.O_APPEND|os.O_WRONLY, 0)
	f.Write(more.Bytes())
	f.Close()
	waitCursor(int64(buf.Len() + more.Len()))
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	as, _ := db.ListAlerts(ctx, store.AlertQuery{})
	if len(as) != 1 || as[0].Subject != "user03@example.org" || as[0].Rule != string(RuleAccountVolume) {
		t.Fatalf("alerts %+v", as)
	}
	if h, err := db.GetState(ctx, WatchName, stateHabits); err != nil || !bytes.Contains(h, []byte("news@example.org")) {
		t.Errorf("habits not saved: %v", err)
	}
	// A restart resumes from the cursor: nothing is learned or counted twice.
	cancel, done = start()
	time.Sleep(200 * time.Millisecond)
	cancel()
	<-done
	as2, _ := db.ListAlerts(ctx, store.AlertQuery{})
	if len(as2) != 1 || as2[0].Count != as[0].Count {
		t.Errorf("after restart: %+v", as2)
	}
}
