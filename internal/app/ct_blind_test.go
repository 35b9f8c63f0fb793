package app

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/ct"
	"github.com/vigie/vigie/internal/ct/cttest"
	"github.com/vigie/vigie/internal/selfwatch"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
)

// gatedLog is a CT log whose get-entries can be held (the log answers its
// head but serves its entries slowly, or vigie cannot keep up) and which
// can go down altogether (503 to everything).
type gatedLog struct {
	*cttest.Log
	hold, down atomic.Bool
	release    chan struct{}
}

func (g *gatedLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.down.Load() {
		http.Error(w, "log unavailable", http.StatusServiceUnavailable)
		return
	}
	if g.hold.Load() && strings.HasSuffix(r.URL.Path, "/get-entries") {
		select {
		case <-g.release:
		case <-r.Context().Done():
			return
		}
	}
	g.Log.ServeHTTP(w, r)
}

// The CT watch's blind causes, end to end through the self-watch: a log
// whose backlog vigie cannot read is ct-log-behind (the head known, the
// position stuck) and, past ct.missed_polls intervals without progress,
// ct-log-not-polled with the log's last error; each is a vigie alert and
// /healthz's reason, and each clears once the log is read again.
func TestCTLogBehindAndNotPolledThroughTheSelfWatch(t *testing.T) {
	l, err := cttest.NewLog()
	if err != nil {
		t.Fatal(err)
	}
	l.MaxBatch = 4
	g := &gatedLog{Log: l, release: make(chan struct{})}
	srv := httptest.NewServer(g)
	defer srv.Close()
	ca, _ := cttest.NewCA("Test CA")
	issue := func(from, n int) {
		for i := from; i < from+n; i++ {
			c, _ := ca.Issue([]string{fmt.Sprintf("host%03d.example.com", i)}, time.Now())
			l.AddCert(c.Cert)
		}
	}
	issue(0, 2)
	cfg := config.Default()
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Notify.Log.Enabled = false
	// The self-watch's findings resolve after 3 checks without them: long
	// enough here that a check starved by a loaded machine does not
	// resolve and re-raise them (one alert each, not one per flap).
	cfg.Self.CheckInterval = 200 * time.Millisecond
	cfg.CT.Watchlist = []string{"example.com"}
	cfg.CT.Start, cfg.CT.PollInterval = "beginning", 50*time.Millisecond
	cfg.CT.BatchSize, cfg.CT.VerifyEvery, cfg.CT.RateLimit = 4, 8, 200
	cfg.CT.MaxBehind, cfg.CT.MissedPolls = 20, 8
	cfg.CT.Logs = []config.CTLog{{Name: "test", URL: srv.URL, Key: l.PubB64, API: "rfc6962"}}
	h := start(t, cfg, buildCT)
	blind := func(cause string) (selfwatch.BlindStatus, bool) {
		v, _ := h.app.health()
		st, _ := v.(selfwatch.Status)
		for _, b := range st.Blind {
			if b.Cause == cause {
				return b, true
			}
		}
		return selfwatch.BlindStatus{}, false
	}
	certs := func() int {
		as, _ := h.app.Store().ListAlerts(context.Background(), store.AlertQuery{Watch: string(ct.Name), Limit: 1000})
		return len(as)
	}
	alerts := func(rule string) []vigie.Alert {
		as, _ := h.app.Store().ListAlerts(context.Background(), store.AlertQuery{Watch: selfwatch.Name, Limit: 1000})
		var out []vigie.Alert
		for _, a := range as {
			if a.Rule == rule {
				out = append(out, a)
			}
		}
		return out
	}
	eventually(t, "the first certificates", func() bool { return certs() == 2 })
	if _, ok := blind(string(ct.CauseLogBehind)); ok {
		t.Fatal("behind while caught up")
	}

	// 60 new entries whose download is held: the head says 62, vigie is at 2.
	g.hold.Store(true)
	issue(2, 60)
	eventually(t, "ct-log-behind", func() bool { _, ok := blind(string(ct.CauseLogBehind)); return ok })
	// (The follower may have seen the head while the 60 were added.)
	b, _ := blind(string(ct.CauseLogBehind))
	var behind int
	fmt.Sscanf(b.Summary, "CT log test is %d entries behind", &behind)
	if b.Subject != "test" || behind <= 20 || behind > 60 {
		t.Errorf("behind: %+v, want more than ct.max_behind (20) and at most 60 entries", b)
	}
	// No progress for ct.missed_polls intervals: not polled either.
	eventually(t, "ct-log-not-polled while the entries are held", func() bool {
		_, ok := blind(string(ct.CauseLogNotPolled))
		return ok
	})
	// Both are vigie alerts (the self-watch emits on its own tick).
	eventually(t, "the vigie alerts", func() bool {
		return len(alerts(string(ct.CauseLogBehind))) >= 1 && len(alerts(string(ct.CauseLogNotPolled))) >= 1
	})
	// Released: the backlog is read and both clear.
	g.hold.Store(false)
	close(g.release)
	eventually(t, "the backlog read", func() bool { return certs() == 62 })
	eventually(t, "the blindness cleared", func() bool {
		_, b1 := blind(string(ct.CauseLogBehind))
		_, b2 := blind(string(ct.CauseLogNotPolled))
		return !b1 && !b2
	})
	for _, cause := range []string{string(ct.CauseLogBehind), string(ct.CauseLogNotPolled)} {
		as := alerts(cause)
		if len(as) == 0 {
			t.Errorf("no vigie alert %s", cause)
		}
		for _, a := range as {
			if a.Subject != "test" {
				t.Errorf("vigie alert %s about %q, want the log's name", cause, a.Subject)
			}
		}
	}

	// The log goes down: not polled, with its error, then back.
	g.down.Store(true)
	eventually(t, "ct-log-not-polled while the log is down", func() bool {
		b, ok := blind(string(ct.CauseLogNotPolled))
		return ok && b.Subject == "test"
	})
	// Once a poll has failed (the client retries first), the report
	// carries the log's error.
	eventually(t, "the not-polled report to carry the log's error", func() bool {
		for _, w := range h.app.Watches(time.Now()) {
			for _, b := range w.Report.Blind {
				if b.Cause == ct.CauseLogNotPolled && strings.Contains(b.Evidence["last_error"], "503") {
					return true
				}
			}
		}
		return false
	})
	if _, ok := blind(string(ct.CauseLogBehind)); ok {
		t.Error("a log down with nothing new is not behind")
	}
	g.down.Store(false)
	issue(62, 1)
	eventually(t, "the log polled again", func() bool {
		_, ok := blind(string(ct.CauseLogNotPolled))
		return !ok && certs() == 63
	})
}
