package policy

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/alert"
	"github.com/vigie/vigie/internal/vigie"
)

func compromise(t *testing.T, p *alert.Pipeline, rule, user string) {
	t.Helper()
	err := p.Emit(context.Background(), vigie.Finding{Watch: "mail", Rule: rule, Subject: user, Severity: vigie.SeverityCritical,
		Summary: user + " sends far above its habit"})
	if err != nil {
		t.Fatal(err)
	}
}

func timelineText(t *testing.T, r *running, user string) string {
	t.Helper()
	alerts, err := r.s.st.ListAlerts(context.Background(), storeAlertsAll())
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, a := range alerts {
		if a.Subject != user || a.IncidentID == 0 {
			continue
		}
		tl, _ := r.s.st.Timeline(context.Background(), a.IncidentID)
		for _, e := range tl {
			b.WriteString(e.Actor + ": " + e.Text + "\n")
		}
	}
	return b.String()
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// With automatic containment off, a compromise alert gets a timeline note
// saying what to run, and nothing is suspended.
func TestContainmentAdvises(t *testing.T) {
	db := openStore(t, t.TempDir())
	p := alert.New(alert.Options{Store: db})
	r := start(t, Options{Config: testConfig(), Store: db, Sink: p})
	compromise(t, p, "account-volume", "eve@example.org")
	compromise(t, p, "some-other-rule", "frank@example.org")
	waitUntil(t, "the advice in the timeline", func() bool {
		return strings.Contains(timelineText(t, r, "eve@example.org"), "vigie mail suspend eve@example.org")
	})
	if tl := timelineText(t, r, "eve@example.org"); !strings.Contains(tl, "vigie mail hold --sasl-user eve@example.org") ||
		!strings.Contains(tl, "automatic containment is off") {
		t.Errorf("timeline:\n%s", tl)
	}
	time.Sleep(200 * time.Millisecond)
	if tl := timelineText(t, r, "frank@example.org"); strings.Contains(tl, "vigie mail") {
		t.Errorf("acted on a rule not in containment.rules:\n%s", tl)
	}
	if n := strings.Count(timelineText(t, r, "eve@example.org"), "automatic containment is off"); n != 1 {
		t.Errorf("advised %d times", n)
	}
	if m, _ := LoadSuspensions(context.Background(), db); len(m) != 0 {
		t.Errorf("suspended with automatic containment off: %v", m)
	}
}

// With automatic containment on, the account is suspended within a poll
// and its next message is held; the timeline and audit log say so.
func TestContainmentSuspends(t *testing.T) {
	db := openStore(t, t.TempDir())
	p := alert.New(alert.Options{Store: db})
	cfg := testConfig()
	cfg.Containment.Automatic = true
	cfg.Containment.HoldQueued = false // the Postfix integration test covers the queue
	r := start(t, Options{Config: cfg, Store: db, Sink: p})
	c := dial(t, r.addr)
	if a := c.ask(t, eom("eve@example.org", "E00001", 1)); a != "action=DUNNO" {
		t.Fatal(a)
	}
	compromise(t, p, "sasl-many-ips", "Eve@Example.org")
	waitUntil(t, "the suspension", func() bool {
		_, ok := (*r.s.suspended.Load())["eve@example.org"]
		return ok
	})
	if a := c.ask(t, eom("eve@example.org", "E00002", 1)); a != "action=HOLD Account suspended by vigie" {
		t.Errorf("after containment: %s", a)
	}
	if tl := timelineText(t, r, "Eve@Example.org"); !strings.Contains(tl, `vigie: vigie suspended account "Eve@Example.org"`) {
		t.Errorf("timeline:\n%s", tl)
	}
	audit, _ := db.ListAudit(context.Background(), storeAuditAll())
	if len(audit) != 1 || audit[0].Actor != "vigie" || audit[0].Action != "mail.suspend" || !strings.Contains(audit[0].Target, "Eve") {
		t.Errorf("audit: %+v", audit)
	}
	// a restart does not act again on the same firing
	r.stop()
	r2 := start(t, Options{Config: cfg, Store: db, Sink: p})
	time.Sleep(300 * time.Millisecond)
	if audit, _ := db.ListAudit(context.Background(), storeAuditAll()); len(audit) != 1 {
		t.Errorf("acted again after a restart: %+v", audit)
	}
	_ = r2
}
