package policy

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/alert"
	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/milter"
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
	cfg := testConfig()
	cfg.Containment.Automatic = false
	r := start(t, Options{Config: cfg, Store: db, Sink: p})
	compromise(t, p, "account-volume", "eve@example.org")
	compromise(t, p, "some-other-rule", "frank@example.org")
	waitUntil(t, "the advice in the timeline", func() bool {
		return strings.Contains(timelineText(t, r, "eve@example.org"), "vigie mail suspend --sasl-user eve@example.org")
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
	waitUntil(t, "the containment in the timeline", func() bool {
		tl := timelineText(t, r, "Eve@Example.org")
		return strings.Contains(tl, `vigie: vigie suspended account "Eve@Example.org"`) &&
			strings.Contains(tl, "contained after mail/sasl-many-ips (critical): suspended account Eve@Example.org: its new mail is held")
	})
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

func milterMsg(path milter.Path, user string, uid int, client string, qid string) *milter.Message {
	m := &milter.Message{Path: path, SASLUser: user, UID: uid, Sender: "x@forged.example", Recipients: 1, QueueID: qid}
	if client != "" {
		m.Client = netip.MustParseAddr(client)
	}
	return m
}

// Containing uid:33 holds the uid's sendmail mail, not the mail of a SASL
// account literally named "uid:33"; a client is contained by address
// whatever sender it forges; a warning contains nothing; an allowed
// subject is not contained and the timeline says why.
func TestContainmentEveryKind(t *testing.T) {
	db := openStore(t, t.TempDir())
	p := alert.New(alert.Options{Store: db})
	cfg := testConfig()
	cfg.Containment.HoldQueued = false // the Postfix integration tests cover the queue
	cfg.Allow = []string{"news@example.org"}
	r := start(t, Options{Config: cfg, Store: db, Sink: p})
	ctx := context.Background()
	if err := p.Emit(ctx, vigie.Finding{Watch: "mail", Rule: "account-volume", Subject: "bob@example.org", Severity: vigie.SeverityWarning, Summary: "a little above habit"}); err != nil {
		t.Fatal(err)
	}
	compromise(t, p, "account-volume", "uid:33")
	compromise(t, p, "account-volume", "client:127.0.0.1")
	compromise(t, p, "account-volume", "news@example.org")
	waitUntil(t, "uid:33 and client:127.0.0.1 suspended", func() bool {
		m := *r.s.suspended.Load()
		_, a := m["uid:33"]
		_, b := m["client:127.0.0.1"]
		return a && b
	})
	waitUntil(t, "the allow-list note", func() bool {
		return strings.Contains(timelineText(t, r, "news@example.org"), "not contained: news@example.org is on policy.allow")
	})
	time.Sleep(200 * time.Millisecond)
	if m := *r.s.suspended.Load(); len(m) != 2 {
		t.Errorf("suspensions: %v (a warning or an allowed subject was contained)", m)
	}
	cases := []struct {
		m    *milter.Message
		want milter.Verdict
	}{
		{milterMsg(milter.PathLocal, "", 33, "", "L00001"), milter.Hold},
		{milterMsg(milter.PathLocal, "", 34, "", "L00002"), milter.Accept},
		{milterMsg(milter.PathSMTP, "uid:33", -1, "192.0.2.7", "S00001"), milter.Accept},
		{milterMsg(milter.PathSMTP, "", -1, "127.0.0.1", "S00002"), milter.Hold},
		{milterMsg(milter.PathSMTP, "", -1, "::ffff:127.0.0.1", "S00003"), milter.Hold},
		{milterMsg(milter.PathSMTP, "", -1, "127.0.0.2", "S00004"), milter.Accept},
		{milterMsg(milter.PathSMTP, "bob@example.org", -1, "127.0.0.1", "S00005"), milter.Accept}, // webmail: bob, not the client
	}
	for _, c := range cases {
		if d := r.s.Check(ctx, c.m); d.Verdict != c.want {
			t.Errorf("%+v: %v, want %v", *c.m, d.Verdict, c.want)
		}
	}
	c := dial(t, r.addr)
	if a := c.ask(t, eom("uid:33", "P00001", 1)); a != "action=DUNNO" {
		t.Errorf("a SASL account named uid:33: %s", a)
	}
	if tl := timelineText(t, r, "uid:33"); !strings.Contains(tl, `suspended local user "uid:33"`) || !strings.Contains(tl, "vigie mail release --uid 33") {
		t.Errorf("uid:33 timeline:\n%s", tl)
	}
	if tl := timelineText(t, r, "client:127.0.0.1"); !strings.Contains(tl, "vigie mail release --client 127.0.0.1") {
		t.Errorf("client timeline:\n%s", tl)
	}
	// the containment is a critical alert of its own, saying how to undo it
	alerts, _ := db.ListAlerts(ctx, storeAlertsAll())
	var contained []string
	for _, a := range alerts {
		if a.Rule == string(RuleContained) {
			contained = append(contained, a.Subject+" "+a.Severity.String()+" "+a.Summary)
		}
	}
	if len(contained) != 2 || !strings.Contains(strings.Join(contained, "\n"), "critical vigie suspended local user uid:33: its new mail is held") {
		t.Errorf("contained alerts:\n%s", strings.Join(contained, "\n"))
	}
}

// The milter and the policy server share one count: a message both see
// (same queue id) is counted once, whichever asks first; a message only
// one sees is counted by it.
func TestMilterAndPolicyCountOnce(t *testing.T) {
	cfg := testConfig()
	cfg.Limits = []config.Limit{{Window: time.Minute, Messages: 3}}
	r := start(t, Options{Config: cfg, Store: openStore(t, t.TempDir())})
	c := dial(t, r.addr)
	ctx := context.Background()
	for i := range 3 {
		qid := fmt.Sprintf("B%05d", i)
		if i%2 == 0 {
			r.s.Check(ctx, milterMsg(milter.PathSMTP, "dora@example.org", -1, "192.0.2.1", qid))
			if a := c.ask(t, eom("dora@example.org", qid, 1)); a != "action=DUNNO" {
				t.Fatalf("message %d, policy after milter: %s", i, a)
			}
		} else {
			if a := c.ask(t, eom("dora@example.org", qid, 1)); a != "action=DUNNO" {
				t.Fatalf("message %d, policy first: %s", i, a)
			}
			if d := r.s.Check(ctx, milterMsg(milter.PathSMTP, "dora@example.org", -1, "192.0.2.1", qid)); d.Verdict != milter.Accept {
				t.Fatalf("message %d, milter after policy: %v", i, d.Verdict)
			}
		}
	}
	if u := r.s.limiter.Usage("dora@example.org", time.Now()); len(u) != 1 || u[0].Messages != 3 {
		t.Fatalf("usage after 3 messages seen twice each: %+v", u)
	}
	// the fourth is over the limit for both
	if d := r.s.Check(ctx, milterMsg(milter.PathSMTP, "dora@example.org", -1, "192.0.2.1", "B00003")); d.Verdict != milter.Hold {
		t.Errorf("fourth message, milter: %v", d.Verdict)
	}
	if a := c.ask(t, eom("dora@example.org", "B00003", 1)); !strings.HasPrefix(a, "action=HOLD") {
		t.Errorf("fourth message, policy: %s", a)
	}
}
