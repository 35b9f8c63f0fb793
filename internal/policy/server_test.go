package policy

import (
	"context"
	"fmt"
	"github.com/vigie/vigie/internal/mail/subject"
	"strings"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/mailqueue"
)

func TestLimitsPerAccount(t *testing.T) {
	sink := &fakeSink{}
	cfg := testConfig()
	cfg.OverLimit = config.Action{Action: "HOLD", Text: "over"}
	r := start(t, Options{Config: cfg, Store: openStore(t, t.TempDir()), Sink: sink})
	c := dial(t, r.addr)
	var got []string
	for i := range 8 {
		got = append(got, c.ask(t, eom("alice@example.org", fmt.Sprintf("A%05d", i), 1)))
	}
	want := []string{"action=DUNNO", "action=DUNNO", "action=DUNNO", "action=DUNNO", "action=DUNNO",
		"action=HOLD over", "action=HOLD over", "action=HOLD over"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("answers\n got %q\nwant %q", got, want)
	}
	// another account is not affected; other stages are not counted
	if a := c.ask(t, eom("bob@example.org", "B00001", 1)); a != "action=DUNNO" {
		t.Errorf("bob: %s", a)
	}
	for range 10 {
		if a := c.ask(t, map[string]string{"protocol_state": "RCPT", "sasl_username": "carol"}); a != "action=DUNNO" {
			t.Fatalf("RCPT: %s", a)
		}
	}
	// a finding reaches the pipeline, once for the burst
	deadline := time.Now().Add(5 * time.Second)
	for len(sink.all()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	fs := sink.all()
	if len(fs) != 1 || fs[0].Rule != "over-limit" || fs[0].Subject != "alice@example.org" || fs[0].Evidence["limit"] != "5" {
		t.Fatalf("findings: %+v", fs)
	}
	if !strings.Contains(fs[0].Summary, "HOLD") {
		t.Errorf("summary does not say what vigie does: %q", fs[0].Summary)
	}
}

func TestRecipientLimitAndOverrides(t *testing.T) {
	cfg := testConfig()
	cfg.Accounts = map[string][]config.Limit{"Big@Example.org": {{Window: time.Minute, Messages: 100}}}
	cfg.Domains = map[string][]config.Limit{"small.example": {{Window: time.Hour, Messages: 1}}}
	r := start(t, Options{Config: cfg, Store: openStore(t, t.TempDir())})
	c := dial(t, r.addr)
	cases := []struct {
		user  string
		rcpts int
		want  string
	}{
		{"alice", 15, "action=DUNNO"},
		{"alice", 6, "action=" + cfg.OverLimit.Action + " " + cfg.OverLimit.Text}, // 21 > 20 recipients
		{"alice", 5, "action=DUNNO"},
		{"big@example.org", 1000, "action=DUNNO"}, // override: no recipient limit
		{"x@small.example", 1, "action=DUNNO"},
		{"y@small.example", 1, "action=DUNNO"}, // domain limit is per account
		{"x@small.example", 1, "action=" + cfg.OverLimit.Action + " " + cfg.OverLimit.Text},
	}
	for i, tc := range cases {
		if got := c.ask(t, eom(tc.user, fmt.Sprintf("Q%04d", i), tc.rcpts)); got != tc.want {
			t.Errorf("%d %s: got %q want %q", i, tc.user, got, tc.want)
		}
	}
}

func TestUnauthenticatedSubjects(t *testing.T) {
	cfg := testConfig()
	cfg.Limits = []config.Limit{{Window: time.Minute, Messages: 1}}
	r := start(t, Options{Config: cfg, Store: openStore(t, t.TempDir())})
	c := dial(t, r.addr)
	ask := func(client, sender string) string {
		return c.ask(t, map[string]string{"protocol_state": "END-OF-MESSAGE", "client_address": client, "sender": sender})
	}
	// from the Internet: never counted
	for range 3 {
		if a := ask("203.0.113.9", "x@remote.example"); a != "action=DUNNO" {
			t.Fatalf("inbound: %s", a)
		}
	}
	// from this machine: counted per client, whatever sender it forges
	if a := ask("127.0.0.1", "www-data@host.example"); a != "action=DUNNO" {
		t.Fatal(a)
	}
	for i := range 3 {
		if a := ask("127.0.0.1", fmt.Sprintf("forged%d@elsewhere.example", i)); !strings.HasPrefix(a, "action=HOLD") {
			t.Fatalf("forged sender %d: %s", i, a)
		}
	}
	if a := ask("::ffff:127.0.0.1", "other@host.example"); !strings.HasPrefix(a, "action=HOLD") {
		t.Fatalf("the same client, IPv4-mapped: %s", a)
	}
	if a := ask("127.0.0.2", "other@host.example"); a != "action=DUNNO" {
		t.Fatalf("another client: %s", a)
	}
	if u := r.s.limiter.Usage("client:127.0.0.1", time.Now()); len(u) != 1 || u[0].Messages != 1 {
		t.Errorf("usage of client:127.0.0.1: %+v", u)
	}
}

func TestSuspensionAndResume(t *testing.T) {
	db := openStore(t, t.TempDir())
	r := start(t, Options{Config: testConfig(), Store: db})
	c := dial(t, r.addr)
	act := &Actions{Store: db, Actor: "admin", Queue: &mailqueue.Tools{}}
	if ok, err := act.Suspend(context.Background(), subject.SASL("Mallory@Example.org"), "test", 0); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if ok, _ := act.Suspend(context.Background(), subject.SASL("mallory@example.org"), "again", 0); ok {
		t.Error("suspended twice")
	}
	r.s.refreshSuspensions(context.Background())
	for _, state := range []string{"RCPT", "END-OF-MESSAGE"} {
		a := c.ask(t, map[string]string{"protocol_state": state, "sasl_username": "mallory@example.org", "queue_id": "ABCDE1"})
		if a != "action=HOLD Account suspended by vigie" {
			t.Errorf("%s: %s", state, a)
		}
	}
	if ok, err := act.Resume(context.Background(), subject.SASL("MALLORY@example.org")); err != nil || !ok {
		t.Fatal(ok, err)
	}
	r.s.refreshSuspensions(context.Background())
	if a := c.ask(t, eom("mallory@example.org", "ABCDE2", 1)); a != "action=DUNNO" {
		t.Error(a)
	}
	audit, _ := db.ListAudit(context.Background(), storeAuditAll())
	if len(audit) != 2 || audit[0].Action != "mail.resume" || audit[1].Action != "mail.suspend" || audit[1].Actor != "admin" {
		t.Errorf("audit: %+v", audit)
	}
}
