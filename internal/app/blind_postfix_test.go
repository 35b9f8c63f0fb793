package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/mail"
	"github.com/vigie/vigie/internal/selfwatch"
	"github.com/vigie/vigie/internal/store"
	vtestutil "github.com/vigie/vigie/internal/testutil"
	"github.com/vigie/vigie/internal/testutil/postfixtest"
	"github.com/vigie/vigie/internal/vigie"
)

// On a real Postfix, logrotate moves the mail log away and creates an
// empty one, and nothing tells the writer (Postfix's postlogd here,
// rsyslog in most setups) to reopen: Postfix goes on logging into the
// rotated file, vigie follows the new, silent one. Mail keeps flowing (the
// queue changes), so vigie is blind: within twice mail.silent_after the
// vigie watch raises mail-log-stalled and /healthz answers 503 naming it.
// Then a panic in the mail watch's queue reader restarts the mail watch
// only, while the policy server answers every request.
func TestStalledMailLogOnRealPostfixIsAnAlert(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Postfix")
	}
	vtestutil.RequireProgram(t, "swaks")
	users := map[string]string{"alice@example.org": "a-pw", "bob@example.org": "b-pw"}
	lab := postfixtest.Start(t, postfixtest.Options{
		Users: users, Submission: true,
		Rcpt: func(cmd string) string {
			if strings.Contains(cmd, "@SLOW.EXAMPLE") {
				return "451 4.3.0 try again later" // stays deferred: the queue changes
			}
			return ""
		},
		Main: []string{"minimal_backoff_time = 300s", "queue_run_delay = 300s", "maximal_queue_lifetime = 1h", "bounce_queue_lifetime = 1h"},
	})
	const silentAfter = 3 * time.Second
	cfg := config.Default()
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Notify.Log.Enabled = false
	cfg.Mail.Enabled, cfg.Mail.Source, cfg.Mail.LogFile, cfg.Mail.PollInterval = config.SwitchOn, "file", lab.Log, 50*time.Millisecond
	cfg.Mail.Queue.Enabled, cfg.Mail.Queue.ConfigDir, cfg.Mail.Queue.Interval = config.SwitchOn, lab.ConfDir, 250*time.Millisecond
	cfg.Mail.SilentAfter = silentAfter
	cfg.Self.CheckInterval = 200 * time.Millisecond
	cfg.Policy.Enabled = config.SwitchOn
	policyAddr := freePort(t)
	cfg.Policy.Listen = []string{policyAddr}
	var faults atomic.Pointer[faultStore]
	mailBuilder := func(d Deps) ([]Watch, error) {
		f := &faultStore{Store: d.Store}
		faults.Store(f)
		w, err := mail.New(context.Background(), mail.Options{Config: d.Config.Mail, Store: f, Sink: d.Sink,
			Logger: d.Logger, Metrics: d.Metrics, Now: d.Now})
		if w == nil || err != nil {
			return nil, fmt.Errorf("mail watch: %v %v", w, err)
		}
		return []Watch{w}, nil
	}
	h := start(t, cfg, mailBuilder, buildPolicy)
	base := "http://" + h.app.HTTPAddr().String()
	healthz := func() (int, selfwatch.Status) {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var st selfwatch.Status
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatalf("/healthz body is not JSON: %v\n%s", err, b)
		}
		return resp.StatusCode, st
	}
	send := func(user, to string) {
		t.Helper()
		if err := lab.Swaks(user, users[user], user, to); err != nil {
			t.Fatal(err)
		}
	}

	// Mail flows and is seen: healthy.
	send("alice@example.org", "friend@dest.example")
	send("bob@example.org", "later@slow.example")
	eventually(t, "the mail watch to read Postfix's lines", func() bool {
		for _, s := range h.app.Watches(time.Now()) {
			if s.Name == "mail" && !s.Report.LastSuccess.IsZero() {
				return true
			}
		}
		return false
	})
	if code, st := healthz(); code != http.StatusOK || st.Status != "ok" {
		t.Fatalf("/healthz before the stall: %d %+v", code, st)
	}

	// logrotate without a reload: the log moves, an empty one is created.
	stalled := time.Now()
	if err := os.Rename(lab.Log, lab.Log+".1"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lab.Log, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		send("alice@example.org", fmt.Sprintf("n%d@slow.example", i))
	}
	var blindAt time.Duration
	deadline := time.Now().Add(4 * silentAfter)
	for {
		as, _ := h.app.Store().ListAlerts(context.Background(), store.AlertQuery{Watch: selfwatch.Name,
			States: []vigie.AlertState{vigie.AlertFiring}})
		if len(as) > 0 {
			if as[0].Rule != string(mail.CauseLogStalled) || as[0].Subject != lab.Log {
				t.Fatalf("self-watch alert %s %s: %s", as[0].Rule, as[0].Subject, as[0].Summary)
			}
			blindAt = time.Since(stalled)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no blind alert %s after the log stalled", time.Since(stalled))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if b, _ := os.ReadFile(lab.Log + ".1"); !strings.Contains(string(b), "n2@slow.example") {
		t.Fatalf("Postfix did not go on logging into the rotated file:\n%s", b)
	}
	if blindAt > 2*silentAfter {
		t.Errorf("blind alert %s after the stall, want within 2 x %s", blindAt, silentAfter)
	}
	code, st := healthz()
	if code != http.StatusServiceUnavailable || st.Status != "blind" || len(st.Blind) == 0 || st.Blind[0].Cause != string(mail.CauseLogStalled) {
		t.Fatalf("/healthz while blind: %d %+v", code, st)
	}
	var mailStatus *selfwatch.WatchStatus
	for i := range st.Watches {
		if st.Watches[i].Name == "mail" {
			mailStatus = &st.Watches[i]
		}
	}
	if mailStatus == nil || !mailStatus.Up || mailStatus.LastSuccess == nil || mailStatus.Lag == "" || len(mailStatus.Blind) == 0 {
		t.Errorf("/healthz's mail watch: %+v", mailStatus)
	}
	t.Logf("blind alert %s after the mail log stalled (threshold %s); /healthz %d", blindAt.Round(10*time.Millisecond), silentAfter, code)

	// A panic in the queue reader restarts the mail watch only.
	probe := probePolicy(policyAddr)
	faults.Load().arm("put", "mail", "queue_top_senders", 0)
	eventually(t, "the queue reader's panic to restart the mail watch", func() bool {
		return testutil.ToFloat64(h.app.watchRestarts.WithLabelValues("mail")) == 1
	})
	for _, s := range h.app.Watches(time.Now()) {
		if s.Name == "mail" && (!strings.Contains(s.LastError, "mail queue reader panicked") || !strings.Contains(s.LastError, "readQueue")) {
			t.Errorf("mail's last error: %.400q", s.LastError)
		}
	}
	eventually(t, "the mail watch up again", func() bool { return testutil.ToFloat64(h.app.watchUp.WithLabelValues("mail")) == 1 })
	time.Sleep(300 * time.Millisecond)
	probe.finish(t)
	if r := testutil.ToFloat64(h.app.watchRestarts.WithLabelValues("policy")); r != 0 {
		t.Errorf("the policy watch restarted %v times", r)
	}
}
