package alert

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/notify"
	"github.com/vigie/vigie/internal/notify/webhook"
	"github.com/vigie/vigie/internal/vigie"
)

// A receiver answering 500, then 429 with Retry-After, then 200: the
// pipeline retries, nothing is lost, and the incident's timeline tells the
// story; a second, healthy receiver got everything at once.
func TestReceiverFaultsAreRetriedAndRecorded(t *testing.T) {
	var mu sync.Mutex
	script := []int{500, 429}
	var bad, good []string
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if len(script) > 0 {
			st := script[0]
			script = script[1:]
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(st)
			return
		}
		bad = append(bad, string(b))
	}))
	defer flaky.Close()
	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		good = append(good, string(b))
		mu.Unlock()
	}))
	defer healthy.Close()
	f1, _ := webhook.New(webhook.Options{Name: "flaky", URL: flaky.URL, HMACKey: "k"})
	f2, _ := webhook.New(webhook.Options{Name: "healthy", URL: healthy.URL, HMACKey: "k"})
	f := newFixture(t)
	f.p = New(Options{Watches: shipped, Store: f.store, Notifiers: []notify.Notifier{f1, f2}, Now: func() time.Time { return f.now },
		Dispatch: notify.DispatchOptions{GroupWait: time.Millisecond, Backoff: 10 * time.Millisecond, IDPrefix: "m"}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.p.Run(ctx, time.Hour, 5*time.Second); close(done) }()
	for _, s := range []string{"alice", "bob", "carol"} {
		if err := f.p.Emit(ctx, mailFinding("account-volume", s, t0)); err != nil {
			t.Fatal(err)
		}
	}
	for {
		mu.Lock()
		n := len(bad)
		mu.Unlock()
		if n > 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	all := strings.Join(bad, "")
	for _, s := range []string{"alice", "bob", "carol"} {
		if !strings.Contains(all, `"subject":"`+s+`"`) {
			t.Errorf("%s lost on the flaky receiver", s)
		}
	}
	if !strings.Contains(strings.Join(good, ""), `"subject":"carol"`) {
		t.Error("the healthy receiver missed carol")
	}
	id := f.incidentOf(t, "mail/account-volume/alice")
	var flakyLines []string
	for _, line := range timelineTexts(t, f.store, id, vigie.TimelineNotification) {
		if strings.HasPrefix(line, "flaky: ") {
			flakyLines = append(flakyLines, line)
		}
	}
	if len(flakyLines) != 3 || !strings.Contains(flakyLines[0], "failed (attempt 1): HTTP 500") ||
		!strings.Contains(flakyLines[1], "failed (attempt 2): HTTP 429") || !strings.Contains(flakyLines[1], "retrying in 1s") ||
		!strings.Contains(flakyLines[2], "notified flaky: alert fired") || !strings.Contains(flakyLines[2], "after 3 attempts") {
		t.Errorf("flaky's timeline:\n%s", strings.Join(flakyLines, "\n"))
	}
}
