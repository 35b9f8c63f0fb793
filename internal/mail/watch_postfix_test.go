package mail

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/alert"
	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/store/sqlite"
	"github.com/vigie/vigie/internal/vigie"
)

// A real Postfix: normal traffic from three accounts, then a burst from a
// fourth (the stolen password). The watch follows the maillog_file Postfix
// writes and reads the real postqueue -j; the only account it names is the
// compromised one, and it sees the Microsoft-style refusal, the brute
// force and the deferred mail in the queue.
func TestPostfixCompromisedAccount(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Postfix")
	}
	users := map[string]string{"alice@example.org": "a-pw", "bob@example.org": "b-pw", "carol@example.org": "c-pw", "mallory@example.org": "m-pw"}
	lab := startPostfixLab(t, users)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "v.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pipe := alert.New(alert.Options{Store: db, ResolveAfter: time.Hour})
	cfg := config.Default().Mail
	cfg.Source, cfg.LogFile, cfg.PollInterval = "file", lab.Log, 50*time.Millisecond
	cfg.Queue.Enabled, cfg.Queue.ConfigDir, cfg.Queue.Interval = config.SwitchOn, lab.ConfDir, 500*time.Millisecond
	cfg.SASL.FailuresPerIP = 3
	w, err := New(ctx, Options{Config: cfg, Store: db, Sink: pipe, FromStart: true})
	if err != nil || w == nil {
		t.Fatalf("New: %v %v", w, err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	// Normal traffic.
	for _, u := range []string{"alice@example.org", "bob@example.org", "carol@example.org"} {
		for i := range 2 {
			if err := lab.Swaks(u, users[u], u, fmt.Sprintf("friend%d@dest.example", i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The burst: 30 messages in a few seconds, some to a blocklisting
	// provider, some deferred.
	var wg sync.WaitGroup
	errs := make(chan error, 30)
	for worker := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 6 {
				n := worker*6 + i
				to := []string{fmt.Sprintf("v%d@spam%d.example", n, n)}
				switch n % 5 {
				case 0:
					to = append(to, fmt.Sprintf("v%d@outlook.com", n))
				case 1:
					to = append(to, fmt.Sprintf("v%d@slow.example", n))
				}
				if err := lab.Swaks("mallory@example.org", "m-pw", "mallory@example.org", to...); err != nil {
					errs <- err
				}
			}
		}()
	}
	// Password guessing from the same machine.
	for range 3 {
		wg.Add(1)
		go func() { defer wg.Done(); lab.Swaks("bob@example.org", "guess", "bob@example.org", "x@dest.example") }()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	want := map[string]string{string(RuleAccountVolume): "mallory@example.org", string(RuleRemoteBlocklist): "192.0.2.25", string(RuleBruteForceIP): "127.0.0.1"}
	deadline := time.Now().Add(30 * time.Second)
	var alerts []vigie.Alert
	for {
		alerts, _ = db.ListAlerts(ctx, store.AlertQuery{})
		found := 0
		for _, a := range alerts {
			if want[a.Rule] == a.Subject {
				found++
			}
		}
		samples, _ := db.Samples(ctx, string(SeriesQueue), "deferred", time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
		deferredSeen := false
		for _, s := range samples {
			deferredSeen = deferredSeen || s.Value > 0
		}
		if found == len(want) && deferredSeen && len(w.Index().QueueIDsOfAccount("mallory@example.org")) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s: alerts %+v, deferred samples %+v, mallory's queued mail %v", alerts, samples,
				w.Index().QueueIDsOfAccount("mallory@example.org"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, a := range alerts {
		if a.Rule == string(RuleAccountVolume) || a.Rule == string(RuleSASLManyIPs) {
			if a.Subject != "mallory@example.org" {
				t.Errorf("alert names another account: %+v", a)
			}
		}
		if a.Rule == string(RuleRemoteBlocklist) && (a.Key != vigie.BlocklistKey("192.0.2.25", "microsoft") || a.Evidence["recipient_domain"] != "outlook.com") {
			t.Errorf("blocklist alert %+v", a)
		}
		t.Logf("%s %s/%s %s: %s", a.Severity, a.Watch, a.Rule, a.Subject, a.Summary)
	}
	// The queue-id index knows mallory's deferred mail by account, sender
	// and id.
	ids := w.Index().QueueIDsOfAccount("mallory@example.org")
	if o, ok := w.Index().Lookup(ids[0]); !ok || o.SASLUser != "mallory@example.org" || o.Sender != "mallory@example.org" || o.ClientIP != "127.0.0.1" {
		t.Errorf("lookup %s: %+v", ids[0], o)
	}
	if got := w.Index().QueueIDsOfSender("Mallory@example.org"); len(got) != len(ids) {
		t.Errorf("by sender %v, by account %v", got, ids)
	}
	// Per-account rates are stored for the dashboard.
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	done <- nil
	if b, err := db.GetState(context.Background(), WatchName, stateCursor); err != nil || len(b) == 0 {
		t.Errorf("no cursor saved: %v", err)
	}
}
