package policy_test

import (
	"bytes"
	"context"
	"fmt"
	"net/smtp"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/cli"
	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/policy"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/store/sqlite"
	"github.com/vigie/vigie/internal/testutil"
	"github.com/vigie/vigie/internal/testutil/postfixtest"
)

// rig is a real Postfix with Dovecot SASL asking a vigie policy server at
// the end of each message, relaying to a sink on loopback.
type rig struct {
	*postfixtest.Lab
	dataDir, cfgFile string
	db               *sqlite.DB
}

// newRig starts it all; policyYAML is added to the policy section.
func newRig(t *testing.T, policyYAML string) *rig {
	policyPort := testutil.FreePort(t)
	r := &rig{Lab: postfixtest.Start(t, postfixtest.Options{
		Users:      map[string]string{"alice@example.org": "alice-secret", "bob@example.org": "bob-secret"},
		PolicyPort: policyPort,
		// how the test keeps a locally submitted message in the queue
		HeaderChecks: "/^Subject: held by test/ HOLD\n",
		// SASL on the smtpd port; the queue retries every second
		Main: []string{
			"smtpd_sasl_auth_enable = yes",
			"smtpd_relay_restrictions = permit_sasl_authenticated, reject",
			"queue_run_delay = 1s",
			"minimal_backoff_time = 1s",
			"maximal_backoff_time = 2s",
			"smtp_connection_cache_on_demand = no",
		},
	})}

	// vigie's policy server; no mail reaches Postfix before it is ready
	r.dataDir = t.TempDir()
	r.cfgFile = filepath.Join(r.dataDir, "vigie.yaml")
	os.WriteFile(r.cfgFile, []byte(fmt.Sprintf(`postfix:
  config_dir: %s
policy:
  enabled: on
  listen: [127.0.0.1:%d]
  milter: {listen: "", local_listen: ""}
  %s
`, r.ConfDir, policyPort, policyYAML)), 0o644)
	cfg, err := config.Load(r.cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	r.db, err = sqlite.Open(context.Background(), filepath.Join(r.dataDir, "vigie.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.db.Close() })
	srv, err := policy.New(policy.Options{Config: cfg.Policy, Store: r.db})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { defer close(served); srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-served })
	<-srv.Ready()
	return r
}

// With the answer DEFER_IF_PERMIT, the message over the limit gets a 4xx
// at the end of its data and the client keeps it; nothing is queued.
func TestPostfixDefersOverLimitMail(t *testing.T) {
	r := newRig(t, "limits: [{window: 1h, messages: 3}]\n  over_limit: {action: DEFER_IF_PERMIT, text: 4.7.1 Sending limit reached for this account}")
	c := r.Dial(t)
	defer c.Close()
	if err := c.Auth(smtp.PlainAuth("", "alice@example.org", "alice-secret", "127.0.0.1")); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		c.Mail("alice@example.org")
		c.Rcpt("x@example.net")
		w, err := c.Data()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(w, "Subject: %d\r\n\r\nhi\r\n", i)
		err = w.Close()
		if i < 3 && err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if i == 3 && (err == nil || !strings.Contains(err.Error(), "450") || !strings.Contains(err.Error(), "4.7.1") || !strings.Contains(err.Error(), "Sending limit reached")) {
			t.Fatalf("message over the limit: %v", err)
		}
	}
	postfixtest.WaitFor(t, 30*time.Second, "three deliveries", func() (bool, string) {
		n, q := r.Sink.Count("alice@example.org"), len(r.Queue(t))
		return n == 3 && q == 0, fmt.Sprintf("delivered %d, queued %d", n, q)
	})
}

// A real Postfix with Dovecot SASL asks vigie at the end of each message.
// alice sends 200 messages: vigie lets 20 through (the limit) and holds
// the rest; bob keeps sending; `vigie mail release --sasl-user alice`
// releases alice's held mail, which is then delivered.
func TestPostfixHoldsOverLimitMail(t *testing.T) {
	const limit = 20
	r := newRig(t, fmt.Sprintf("limits: [{window: 1h, messages: %d}]\n  over_limit: {action: HOLD, text: over the limit}", limit))
	etc, db, dataDir, cfgFile := r.ConfDir, r.db, r.dataDir, r.cfgFile

	r.SendMany(t, "alice@example.org", "alice-secret", 200)
	r.SendMany(t, "bob@example.org", "bob-secret", 10)

	// alice: 20 delivered, 180 held; bob: all 10 delivered
	postfixtest.WaitFor(t, 60*time.Second, "deliveries and holds", func() (bool, string) {
		held := r.QueueNamed(t, "hold")
		others := len(r.Queue(t)) - len(held)
		a, b := r.Sink.Count("alice@example.org"), r.Sink.Count("bob@example.org")
		return a == limit && b == 10 && len(held) == 200-limit && others == 0,
			fmt.Sprintf("delivered alice=%d bob=%d, held=%d, other queued=%d", a, b, len(held), others)
	})
	time.Sleep(1500 * time.Millisecond) // the policy server writes its records once a second

	vigie := func(stdin string, args ...string) (int, string) {
		var out bytes.Buffer
		code := cli.Main(context.Background(), cli.Env{
			Args:  append([]string{"--data", dataDir}, append(args, "--config", cfgFile)...),
			Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" },
		})
		return code, out.String()
	}
	code, out := vigie("", "mail", "release", "--sasl-user", "alice@example.org")
	if code != 0 {
		t.Fatalf("vigie mail release: exit %d\n%s", code, out)
	}
	if !strings.Contains(out, fmt.Sprintf("released %d messages", 200-limit)) {
		t.Errorf("release output:\n%s", out)
	}
	postfixtest.WaitFor(t, 60*time.Second, "released mail delivered", func() (bool, string) {
		n := len(r.Queue(t))
		a := r.Sink.Count("alice@example.org")
		return a == 200 && n == 0, fmt.Sprintf("alice delivered %d, queued %d", a, n)
	})
	audit, err := db.ListAudit(context.Background(), storeAuditQuery("mail.release"))
	if err != nil || len(audit) != 1 || audit[0].Result != "ok" || !strings.Contains(audit[0].Detail, "sasl_user=alice@example.org: 180 messages") {
		t.Errorf("audit: %+v %v", audit, err)
	}

	// An admin suspends bob: his next messages are held, whatever his limits.
	if code, out := vigie("", "mail", "suspend", "bob@example.org", "--reason", "test"); code != 0 || !strings.Contains(out, "held 0 queued messages") {
		t.Fatalf("vigie mail suspend: exit %d\n%s", code, out)
	}
	time.Sleep(1500 * time.Millisecond) // the server reads suspensions every second
	r.SendMany(t, "bob@example.org", "bob-secret", 3)
	postfixtest.WaitFor(t, 30*time.Second, "bob's mail held", func() (bool, string) {
		n := len(r.QueueNamed(t, "hold"))
		return n == 3, fmt.Sprintf("held %d", n)
	})
	// purge asks first
	if code, out := vigie("n\n", "mail", "purge", "--sasl-user", "bob@example.org"); code != 1 || !strings.Contains(out, "nothing deleted") {
		t.Errorf("purge answered no: exit %d\n%s", code, out)
	}
	if n := len(r.QueueNamed(t, "hold")); n != 3 {
		t.Fatalf("purge answered no deleted mail: %d left", n)
	}
	if code, out := vigie("", "mail", "purge", "--sasl-user", "bob@example.org", "--yes"); code != 0 || !strings.Contains(out, "deleted 3 messages") {
		t.Errorf("purge --yes: exit %d\n%s", code, out)
	}
	if code, out := vigie("", "mail", "resume", "bob@example.org"); code != 0 || !strings.Contains(out, "resumed") {
		t.Errorf("resume: exit %d\n%s", code, out)
	}

	// Mail a local user submits with sendmail never meets the policy
	// server: --uid finds it through the Received header pickup added.
	sm := exec.Command("/usr/sbin/sendmail", "-C", etc, "-f", "www-data@example.org", "victim@example.net")
	sm.Stdin = strings.NewReader("Subject: held by test\n\nspam\n")
	if out, err := sm.CombinedOutput(); err != nil {
		t.Fatalf("sendmail: %v\n%s", err, out)
	}
	postfixtest.WaitFor(t, 30*time.Second, "the local message held", func() (bool, string) {
		n := len(r.QueueNamed(t, "hold"))
		return n == 1, fmt.Sprintf("held %d", n)
	})
	if code, out := vigie("", "mail", "release", "--uid", "0", "--dry-run"); code != 0 || !strings.Contains(out, "dry run: 1 messages of uid=0 would be released") {
		t.Errorf("release --uid 0 --dry-run: exit %d\n%s", code, out)
	}
	if code, out := vigie("", "mail", "release", "--uid", "33", "--dry-run"); code != 0 || !strings.Contains(out, "dry run: 0 messages") {
		t.Errorf("release --uid 33 --dry-run: exit %d\n%s", code, out)
	}
	if code, out := vigie("", "mail", "purge", "--uid", "0", "--yes"); code != 0 || !strings.Contains(out, "deleted 1 messages of uid=0") {
		t.Errorf("purge --uid 0: exit %d\n%s", code, out)
	}
	postfixtest.WaitFor(t, 10*time.Second, "an empty queue", func() (bool, string) {
		n := len(r.Queue(t))
		return n == 0, fmt.Sprintf("queued %d", n)
	})
	all, _ := db.ListAudit(context.Background(), storeAuditQuery(""))
	var actions []string
	for _, e := range all {
		actions = append(actions, e.Actor+" "+e.Action+" "+e.Result)
	}
	want := "admin mail.purge ok|admin mail.resume ok|admin mail.purge ok|admin mail.hold ok|admin mail.suspend ok|admin mail.release ok"
	if strings.Join(actions, "|") != want {
		t.Errorf("audit log:\n got %s\nwant %s", strings.Join(actions, "|"), want)
	}
}

func storeAuditQuery(action string) store.AuditQuery { return store.AuditQuery{Action: action} }
