package app

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/vigie/vigie/internal/config"
)

// The heartbeat pings its URL every interval (healthchecks.io and Uptime
// Kuma push monitors alert when the pings stop), and its fail URL instead
// while vigie is blind: here, while a watch is down.
func TestHeartbeatPingsAndSaysWhenBlind(t *testing.T) {
	var mu sync.Mutex
	hits := map[string]int{}
	var agents []string
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		hits[r.URL.Path]++
		agents = append(agents, r.UserAgent())
	}))
	defer recv.Close()
	count := func(path string) int {
		mu.Lock()
		defer mu.Unlock()
		return hits[path]
	}
	cfg, err := config.Parse("vigie.yaml", []byte(fmt.Sprintf(`http:
  listen: 127.0.0.1:0
notify:
  log:
    enabled: false
heartbeat:
  url: %s/ping/3f1c
  fail_url: %s/ping/3f1c/fail
  interval: 30ms
`, recv.URL, recv.URL)))
	if err != nil {
		t.Fatal(err)
	}
	down := make(chan struct{})
	broken := &fakeWatch{name: "dns", run: func(ctx context.Context, n int32, _ Deps) error {
		select {
		case <-down:
			return fmt.Errorf("resolver unreachable (run %d)", n)
		case <-ctx.Done():
			return nil
		}
	}}
	h := start(t, cfg, builderOf(broken))
	eventually(t, "three pings", func() bool { return count("/ping/3f1c") >= 3 })
	if count("/ping/3f1c/fail") != 0 {
		st, _ := h.app.health()
		t.Errorf("fail pinged while healthy: %+v", st)
	}
	close(down) // the watch now fails at once on every run
	eventually(t, "a fail ping while a watch is down", func() bool { return count("/ping/3f1c/fail") >= 1 })
	mu.Lock()
	defer mu.Unlock()
	for _, a := range agents {
		if a != "vigie-heartbeat" {
			t.Errorf("User-Agent %q", a)
		}
	}
}
