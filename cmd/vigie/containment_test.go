package main

import (
	"context"
	"fmt"
	"net/netip"
	"net/smtp"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/mail/subject"
	"github.com/vigie/vigie/internal/policy"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/store/sqlite"
	"github.com/vigie/vigie/internal/testutil"
	"github.com/vigie/vigie/internal/testutil/postfixtest"
	"github.com/vigie/vigie/internal/vigie"
)

// containRig is a real Postfix (Dovecot SASL, a submission port, the
// milter on both paths and the policy server, as `vigie postfix-config`
// prints them) and `vigie run` on its default configuration, but for the
// addresses and Postfix's files.
type containRig struct {
	*postfixtest.Lab
	cfg, data string
	d         *daemon
}

var (
	policyReady = regexp.MustCompile(`policy server ready`)
	users       = map[string]string{"manon@example.org": "manon-secret", "alice@example.org": "alice-secret"}
)

func newContainRig(t *testing.T) *containRig {
	testutil.RequireProgram(t, "postfix")
	policyPort, smtpMilter, localMilter := testutil.FreePort(t), testutil.FreePort(t), testutil.FreePort(t)
	lab := postfixtest.Start(t, postfixtest.Options{
		Users:      users,
		Submission: true,
		PolicyPort: policyPort,
		Main: append(postfixtest.MilterMain(fmt.Sprintf("127.0.0.1:%d", smtpMilter), fmt.Sprintf("127.0.0.1:%d", localMilter)),
			// web apps on this machine relay through smtpd unauthenticated
			"mynetworks = 127.0.0.0/8",
			"smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject",
			"queue_run_delay = 1s", "minimal_backoff_time = 1s", "maximal_backoff_time = 2s"),
	})
	r := &containRig{Lab: lab, data: t.TempDir()}
	r.cfg = filepath.Join(r.data, "vigie.yaml")
	// the defaults, but for where things are
	os.WriteFile(r.cfg, []byte(fmt.Sprintf(`http:
  listen: 127.0.0.1:0
blocklist:
  enabled: off
web:
  enabled: off
postfix:
  config_dir: %s
mail:
  source: file
  log_file: %s
policy:
  listen: [127.0.0.1:%d]
  milter: {listen: 127.0.0.1:%d, local_listen: 127.0.0.1:%d}
`, lab.ConfDir, lab.Log, policyPort, smtpMilter, localMilter)), 0o600)
	r.start(t)
	return r
}

func (r *containRig) start(t *testing.T) {
	r.d = startDaemon(t, []string{"VIGIE_DATA=" + r.data}, "--config", r.cfg)
	r.d.waitFor(t, policyReady, nil)
}

// suspension returns the suspension of subj, if any, from vigie's store.
func (r *containRig) suspension(t *testing.T, subj subject.Subject) (policy.Suspension, bool) {
	db := r.db(t)
	defer db.Close()
	m, err := policy.LoadSuspensions(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	s, ok := m[policy.SuspensionKey(subj)]
	return s, ok
}

func (r *containRig) db(t *testing.T) *sqlite.DB {
	db, err := sqlite.Open(context.Background(), filepath.Join(r.data, "vigie.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// record is what the store says about the containment of subj: the
// timeline of its incident, and its alerts.
func (r *containRig) record(t *testing.T, subj string) (timeline string, alerts []vigie.Alert) {
	db := r.db(t)
	defer db.Close()
	ctx := context.Background()
	all, err := db.ListAlerts(ctx, store.AlertQuery{})
	if err != nil {
		t.Fatal(err)
	}
	incidents := map[int64]bool{}
	for _, a := range all {
		if a.Subject == subj {
			alerts = append(alerts, a)
			incidents[a.IncidentID] = true
		}
	}
	var b strings.Builder
	for id := range incidents {
		tl, _ := db.Timeline(ctx, id)
		for _, e := range tl {
			fmt.Fprintf(&b, "%s %s: %s\n", e.Time.Format(time.TimeOnly), e.Actor, e.Text)
		}
	}
	return b.String(), alerts
}

// vigie runs a vigie command against the rig's config and store.
func (r *containRig) vigie(t *testing.T, args ...string) string {
	code, out, errOut := run(t, []string{"VIGIE_DATA=" + r.data}, append(args, "--config", r.cfg)...)
	if code != 0 {
		t.Fatalf("vigie %v: exit %d\n%s%s", args, code, out, errOut)
	}
	return out
}

// submit sends one message on a new connection: authenticated on the
// submission port when user is set, else unauthenticated on smtpd.
func (r *containRig) submit(user, from, to, subj string) error {
	port := r.SMTPPort
	if user != "" {
		port = r.SubmissionPort
	}
	c, err := smtp.Dial(fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("client.example"); err != nil {
		return err
	}
	if user != "" {
		if err := c.Auth(smtp.PlainAuth("", user, users[user], "127.0.0.1")); err != nil {
			return err
		}
	}
	if err := c.Mail(from); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "From: %s\r\nTo: %s\r\nSubject: %s\r\n\r\nhello\r\n", from, to, subj)
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// normalTraffic is alice writing from her phone every 3 s until stop:
// it returns how many she sent.
func (r *containRig) normalTraffic(t *testing.T, stop <-chan struct{}) func() int {
	var mu sync.Mutex
	sent := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(3 * time.Second)
		defer tick.Stop()
		for i := 0; ; i++ {
			if err := r.submit("alice@example.org", "alice@example.org", fmt.Sprintf("friend%d@example.net", i), fmt.Sprintf("alice %d", i)); err != nil {
				t.Errorf("alice's message %d: %v", i, err)
			}
			mu.Lock()
			sent++
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	return func() int { <-done; mu.Lock(); defer mu.Unlock(); return sent }
}

// attackResult is what an attack at 1 mail/s did.
type attackResult struct {
	sent        int
	containedAt time.Duration // after the first message; 0: never
	start       time.Time
}

// attack sends message i with send(i) every second until subj is
// suspended, then after more messages; it gives up after limit.
func (r *containRig) attack(t *testing.T, subj subject.Subject, after, limit int, send func(i int) error) attackResult {
	res := attackResult{start: time.Now()}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	containedAt := -1
	for i := 0; i < limit; i++ {
		if err := send(i); err != nil {
			t.Fatalf("attack message %d: %v", i, err)
		}
		res.sent++
		if containedAt < 0 {
			if s, ok := r.suspension(t, subj); ok {
				containedAt = i
				res.containedAt = s.At.Sub(res.start)
			}
		}
		if containedAt >= 0 && i >= containedAt+after {
			return res
		}
		<-tick.C
	}
	return res
}

// spamNumbers are the numbers of the spam messages the sink received.
func spamNumbers(msgs []postfixtest.SinkMessage) []int {
	var out []int
	for _, m := range msgs {
		if n, ok := strings.CutPrefix(m.Subject, "spam "); ok {
			if i, err := strconv.Atoi(n); err == nil {
				out = append(out, i)
			}
		}
	}
	sort.Ints(out)
	return out
}

// settle waits until every spam message is delivered or held and alice's
// all delivered, then checks that the delivered spam are the first ones
// (every message after the first held one was held too) and returns how
// many were delivered.
func (r *containRig) settle(t *testing.T, sent, aliceSent int) (delivered, held int) {
	postfixtest.WaitFor(t, 60*time.Second, "spam delivered or held, alice's mail delivered", func() (bool, string) {
		delivered = len(spamNumbers(r.Sink.Messages()))
		held = len(r.QueueNamed(t, "hold"))
		others := len(r.Queue(t)) - held
		alice := r.Sink.Count("alice@example.org")
		return delivered+held == sent && others == 0 && alice == aliceSent,
			fmt.Sprintf("spam sent %d: delivered %d, held %d; other queued %d; alice delivered %d of %d", sent, delivered, held, others, alice, aliceSent)
	})
	for i, n := range spamNumbers(r.Sink.Messages()) {
		if n != i {
			t.Errorf("spam delivered: %v; want the first ones only (every message after the first held one held)", spamNumbers(r.Sink.Messages()))
			break
		}
	}
	return delivered, held
}

// checkRecord checks that the store tells what happened: the alert that
// triggered containment is critical, the timeline says what was held and
// how to undo it, a critical "contained" alert (the notification) says it
// too.
func (r *containRig) checkRecord(t *testing.T, subj subject.Subject) string {
	flag := policy.SubjectFlag(subj)
	var tl string
	postfixtest.WaitFor(t, 30*time.Second, "the containment and what the gate held in the timeline", func() (bool, string) {
		tl, _ = r.record(t, subj.String())
		return strings.Contains(tl, "contained after") && strings.Contains(tl, "vigie's gate held"), tl
	})
	// each held message is counted once, though the milter and the policy
	// server both saw it
	if m := regexp.MustCompile(`last queue ids ([^)]*)\)`).FindAllStringSubmatch(tl, -1); len(m) > 0 {
		ids := strings.Fields(m[len(m)-1][1])
		seen := map[string]bool{}
		for _, id := range ids {
			if seen[id] {
				t.Errorf("queue id %s counted twice as held: %v", id, ids)
			}
			seen[id] = true
		}
	}
	if !strings.Contains(tl, "undo: `vigie mail release "+flag+"`") {
		t.Errorf("the timeline does not say how to undo it:\n%s", tl)
	}
	_, alerts := r.record(t, subj.String())
	var trigger, contained bool
	for _, a := range alerts {
		if a.Rule == string(policy.RuleContained) && a.Severity == vigie.SeverityCritical && strings.Contains(a.Summary, "vigie mail release "+flag) {
			contained = true
		}
		if a.Rule == string(policy.RuleOverLimit) || a.Watch == "mail" {
			trigger = trigger || a.Severity == vigie.SeverityCritical
		}
	}
	if !trigger || !contained {
		t.Errorf("alerts of %s: critical trigger %v, critical contained alert saying how to undo %v: %+v", subj, trigger, contained, alerts)
	}
	return tl
}

// Default configuration, a stolen password at 1 mail/s through SASL
// submission: at most 20 spam delivered before every further message is
// held; alice's mail keeps flowing; `vigie mail release --sasl-user`
// delivers the held mail.
func TestContainStolenPassword(t *testing.T) {
	r := newContainRig(t)
	manon := subject.SASL("manon@example.org")
	stop := make(chan struct{})
	aliceSent := r.normalTraffic(t, stop)
	res := r.attack(t, manon, 12, 90, func(i int) error {
		return r.submit("manon@example.org", "manon@example.org", fmt.Sprintf("victim%d@spam%d.example", i, i), fmt.Sprintf("spam %d", i))
	})
	close(stop)
	if res.containedAt == 0 {
		t.Fatalf("manon not contained after %d messages at 1 mail/s", res.sent)
	}
	delivered, held := r.settle(t, res.sent, aliceSent())
	t.Logf("stolen password, 1 mail/s, default config: %d spam delivered, %d held of %d sent; contained %.0f s after the first spam; alice's %d messages all delivered",
		delivered, held, res.sent, res.containedAt.Seconds(), r.Sink.Count("alice@example.org"))
	if delivered > 20 {
		t.Errorf("%d spam delivered, want at most 20", delivered)
	}
	tl := r.checkRecord(t, manon)
	t.Logf("timeline:\n%s", tl)

	// the password is changed: the thief's next login fails; then one
	// command sends what was held
	r.SetPassword(t, "manon@example.org", "manon-new-secret")
	postfixtest.WaitFor(t, 10*time.Second, "the old password refused", func() (bool, string) {
		err := r.submit("manon@example.org", "manon@example.org", "victim@spam.example", "spam after the change")
		return err != nil && strings.Contains(err.Error(), "535"), fmt.Sprint(err)
	})
	// a try of the old password that Dovecot still accepted before the
	// change took effect was held too: release what the hold queue has now
	heldNow := len(r.QueueNamed(t, "hold"))
	if heldNow < held {
		t.Errorf("hold queue has %d messages before the release, %d were held", heldNow, held)
	}
	out := r.vigie(t, "mail", "release", "--sasl-user", "manon@example.org")
	if !strings.Contains(out, fmt.Sprintf("released %d messages", heldNow)) {
		t.Errorf("release (%d held):\n%s", heldNow, out)
	}
	postfixtest.WaitFor(t, 60*time.Second, "the held mail delivered", func() (bool, string) {
		n := len(spamNumbers(r.Sink.Messages()))
		return n == res.sent && len(r.Queue(t)) == 0, fmt.Sprintf("delivered %d of %d, queued %d", n, res.sent, len(r.Queue(t)))
	})
}

// A PHP-like script calling sendmail as uid 33 at 1 mail/s, a new forged
// sender per message: contained within 60 s, at most 60 delivered, the
// rest held, the uid named.
func TestContainSendmailUID(t *testing.T) {
	r := newContainRig(t)
	uid := subject.UID(33)
	stop := make(chan struct{})
	aliceSent := r.normalTraffic(t, stop)
	res := r.attack(t, uid, 8, 75, func(i int) error {
		from := fmt.Sprintf("noreply%d@forged%d.example", i, i)
		return r.SendmailAs(33, 33, from, []string{fmt.Sprintf("victim%d@spam%d.example", i, i)},
			fmt.Sprintf("From: %s\nSubject: spam %d\n\nbuy\n", from, i))
	})
	close(stop)
	if res.containedAt == 0 || res.containedAt > time.Minute {
		t.Fatalf("uid 33 contained after %v (0: never), want within 60 s", res.containedAt)
	}
	delivered, held := r.settle(t, res.sent, aliceSent())
	t.Logf("sendmail as uid 33, 1 mail/s, forged senders, default config: %d delivered, %d held of %d sent; contained %.0f s after the first; alice's %d messages all delivered",
		delivered, held, res.sent, res.containedAt.Seconds(), r.Sink.Count("alice@example.org"))
	if delivered > 60 {
		t.Errorf("%d delivered, want at most 60", delivered)
	}
	tl := r.checkRecord(t, uid)
	if !strings.Contains(tl, `local user "uid:33"`) {
		t.Errorf("the uid is not named:\n%s", tl)
	}
}

// An unauthenticated client on 127.0.0.1 at 1 mail/s, a new forged sender
// per message: contained within 60 s, at most 60 delivered, the rest held.
// Then vigie is killed: Postfix keeps accepting mail (fail-open); vigie
// restarted holds the client's mail again.
func TestContainLocalClientAndFailOpen(t *testing.T) {
	r := newContainRig(t)
	client := subject.Client(mustAddr("127.0.0.1"))
	stop := make(chan struct{})
	aliceSent := r.normalTraffic(t, stop)
	spam := func(i int) error {
		from := fmt.Sprintf("info%d@forged%d.example", i, i)
		return r.submit("", from, fmt.Sprintf("victim%d@spam%d.example", i, i), fmt.Sprintf("spam %d", i))
	}
	res := r.attack(t, client, 3, 75, spam)
	close(stop)
	if res.containedAt == 0 || res.containedAt > time.Minute {
		t.Fatalf("client:127.0.0.1 contained after %v (0: never), want within 60 s", res.containedAt)
	}
	delivered, held := r.settle(t, res.sent, aliceSent())
	t.Logf("unauthenticated client 127.0.0.1, 1 mail/s, a new forged sender each, default config: %d delivered, %d held of %d sent; contained %.0f s after the first",
		delivered, held, res.sent, res.containedAt.Seconds())
	if delivered > 60 {
		t.Errorf("%d delivered, want at most 60", delivered)
	}
	r.checkRecord(t, client)

	// kill -9: Postfix accepts mail at once, the attacker's too (fail-open)
	r.d.cmd.Process.Kill()
	r.d.cmd.Wait()
	began := time.Now()
	for i := range 3 {
		if err := r.submit("alice@example.org", "alice@example.org", "friend@example.net", fmt.Sprintf("alice down %d", i)); err != nil {
			t.Fatalf("alice's mail with vigie down: %v", err)
		}
		if err := spam(1000 + i); err != nil {
			t.Fatalf("mail with vigie down: %v", err)
		}
	}
	postfixtest.WaitFor(t, 30*time.Second, "mail delivered with vigie down", func() (bool, string) {
		n := len(spamNumbers(r.Sink.Messages()))
		return n == delivered+3, fmt.Sprintf("spam delivered %d", n)
	})
	t.Logf("vigie killed: 6 messages accepted and delivered in %.1f s (fail-open)", time.Since(began).Seconds())
	// restarted, it holds the client's mail again: the suspension is in the store
	r.start(t)
	for i := range 3 {
		if err := spam(2000 + i); err != nil {
			t.Fatal(err)
		}
	}
	postfixtest.WaitFor(t, 30*time.Second, "the client's mail held again", func() (bool, string) {
		n := len(r.QueueNamed(t, "hold"))
		return n == held+3, fmt.Sprintf("held %d, want %d", n, held+3)
	})
	if n := len(spamNumbers(r.Sink.Messages())); n != delivered+3 {
		t.Errorf("spam delivered after the restart: %d, want %d", n, delivered+3)
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
