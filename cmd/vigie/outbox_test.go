package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/ct"
	"github.com/vigie/vigie/internal/ct/cttest"
	"github.com/vigie/vigie/internal/notify/webhook"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/store/sqlite"
	"github.com/vigie/vigie/internal/vigie"
)

// hookReceiver is the webhook endpoint of the kill test: it checks each
// request's signature, answers 500 to a few (a receiver has bad moments
// too) and counts every change by its idempotency key.
type hookReceiver struct {
	key      []byte
	mu       sync.Mutex
	requests int
	failed   int
	seen     map[string]int // change id -> deliveries
	fired    map[string]int // alert key -> fired changes received (any id)
	badSig   int
	noIdem   int
	biggest  int // changes in the largest message
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	// A real receiver takes a moment to answer: a kill then often falls
	// between its taking a message and vigie hearing so.
	defer time.Sleep(time.Duration(20+rand.IntN(60)) * time.Millisecond)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests++
	if err := webhook.Verify(h.key, r.Header, body, time.Now(), 5*time.Minute); err != nil {
		h.badSig++
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if r.Header.Get("Idempotency-Key") == "" {
		h.noIdem++
	}
	if rand.IntN(20) == 0 {
		h.failed++
		http.Error(w, "busy", http.StatusInternalServerError)
		return
	}
	var p webhook.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.biggest = max(h.biggest, len(p.Changes))
	for _, c := range p.Changes {
		h.seen[c.ID]++
		if c.Change == "fired" && h.seen[c.ID] == 1 {
			h.fired[c.Alert.Key]++
		}
	}
}

// TestNotificationsSurviveKill9 runs the real binary on a CT log holding a
// storm of certificates for a watched domain, each its own alert, notified
// to a webhook. The daemon is killed with SIGKILL at random moments and
// started again on the same data; at the end every alert's "fired" change
// reached the receiver (none lost), and the changes delivered twice (sent,
// accepted, then killed before vigie marked them done) are counted and
// bounded.
func TestNotificationsSurviveKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("kill -9 test skipped in -short mode")
	}
	l, err := cttest.NewLog()
	if err != nil {
		t.Fatal(err)
	}
	l.MaxBatch = 4
	logSrv := httptest.NewServer(l)
	defer logSrv.Close()
	ca, _ := cttest.NewCA("Storm CA")
	const certs = 240
	for i := 0; i < certs; i++ {
		c, err := ca.Issue([]string{fmt.Sprintf("mx%03d.storm.example", i)}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		l.AddCert(c.Cert)
		u, _ := ca.Issue([]string{fmt.Sprintf("www%03d.unrelated.example", i)}, time.Now())
		l.AddCert(u.Cert)
	}
	recv := &hookReceiver{key: []byte("storm-key"), seen: map[string]int{}, fired: map[string]int{}}
	hookSrv := httptest.NewServer(recv)
	defer hookSrv.Close()

	dir := t.TempDir()
	cfg := filepath.Join(dir, "vigie.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`http:
  listen: 127.0.0.1:0
notify:
  log:
    enabled: false
  delivery:
    group_wait: 30ms
    min_interval: 60ms
    backoff: 50ms
    max_backoff: 200ms
  webhook:
    - {name: storm, url: %q, hmac_key: storm-key}
ct:
  watchlist: [storm.example]
  start: beginning
  batch_size: 4
  verify_every: 8
  rate_limit: 40
  poll_interval: 100ms
  logs:
    - {name: storm, url: %q, key: %q, api: rfc6962}
`, hookSrv.URL, logSrv.URL, l.PubB64)), 0o600)

	alerts := func() []vigie.Alert {
		db, err := sqlite.Open(context.Background(), filepath.Join(dir, "vigie.db"), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		as, _ := db.ListAlerts(context.Background(), store.AlertQuery{Watch: "ct", Limit: 100000})
		return as
	}
	position := func() int64 {
		db, err := sqlite.Open(context.Background(), filepath.Join(dir, "vigie.db"), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		k, _ := ct.ParseLogKey(l.PubB64)
		p, _ := ct.Position(context.Background(), db, k)
		return p
	}

	kills := 0
	for round := 0; round < 8 && position() < l.Size(); round++ {
		d := startDaemon(t, []string{"VIGIE_DATA=" + dir}, "--config", cfg)
		time.Sleep(time.Duration(300+rand.IntN(900)) * time.Millisecond)
		d.cmd.Process.Signal(syscall.SIGKILL)
		d.cmd.Wait()
		kills++
	}
	if position() >= l.Size() && kills < 3 {
		t.Fatalf("the log was caught up after %d kills; slow it down", kills)
	}
	// The last run: catch up, deliver what waits, stop cleanly.
	d := startDaemon(t, []string{"VIGIE_DATA=" + dir}, "--config", cfg)
	deadline := time.Now().Add(90 * time.Second)
	for {
		as := alerts()
		recv.mu.Lock()
		missing := 0
		for _, a := range as {
			if recv.fired[a.Key] == 0 {
				missing++
			}
		}
		recv.mu.Unlock()
		if position() >= l.Size() && len(as) == certs && missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %d kills: %d alerts, %d not notified; log:\n%s", kills, len(as), missing, d.stderr.buf.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	d.cmd.Wait()

	recv.mu.Lock()
	defer recv.mu.Unlock()
	delivered, dups := 0, 0
	for _, n := range recv.seen {
		delivered++
		dups += n - 1
	}
	for key, n := range recv.fired {
		if n != 1 {
			t.Errorf("%s: fired %d times under different ids", key, n)
		}
	}
	if recv.badSig > 0 || recv.noIdem > 0 {
		t.Errorf("%d requests with a bad signature, %d without an Idempotency-Key", recv.badSig, recv.noIdem)
	}
	// A duplicate is a message accepted just before a kill and not yet
	// marked done: at most one message (one notifier) per kill.
	if dups > kills*recv.biggest {
		t.Errorf("%d duplicate deliveries for %d kills (largest message: %d changes)", dups, kills, recv.biggest)
	}
	t.Logf("%d kills, %d alerts, %d changes delivered (each at least once), %d duplicates (bound: %d kills x %d changes in the largest message), %d requests (%d answered 500)",
		kills, certs, delivered, dups, kills, recv.biggest, recv.requests, recv.failed)
}
