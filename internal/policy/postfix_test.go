package policy_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/smtp"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/cli"
	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/policy"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/store/sqlite"
	"github.com/vigie/vigie/internal/testutil"
)

// rig is a real Postfix with Dovecot SASL asking a vigie policy server at
// the end of each message, relaying to a sink on loopback.
type rig struct {
	smtpPort     int
	etc, dataDir string
	cfgFile      string
	sink         *sink
	db           *sqlite.DB
}

// newRig starts it all; policyYAML is added to the policy section.
func newRig(t *testing.T, policyYAML string) *rig {
	postfix := testutil.RequireProgram(t, "postfix")
	testutil.RequireProgram(t, "dovecot")
	testutil.RequireProgram(t, "postqueue")
	if os.Geteuid() != 0 {
		t.Skip("starting Postfix needs root")
	}
	if testing.Short() {
		t.Skip("starts Postfix and Dovecot")
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o755) // Postfix's and Dovecot's users must reach their files
	os.Chmod(filepath.Dir(dir), 0o755)

	r := &rig{sink: startSink(t)}
	dove := startDovecot(t, dir, map[string]string{"alice@example.org": "alice-secret", "bob@example.org": "bob-secret"})

	// vigie's policy server
	r.dataDir = filepath.Join(dir, "vigie")
	os.Mkdir(r.dataDir, 0o700)
	r.etc = filepath.Join(dir, "postfix")
	r.cfgFile = filepath.Join(dir, "vigie.yaml")
	policyPort := testutil.FreePort(t)
	os.WriteFile(r.cfgFile, []byte(fmt.Sprintf(`policy:
  enabled: on
  listen: [127.0.0.1:%d]
  %s
  postfix:
    config_dir: %s
`, policyPort, policyYAML, r.etc)), 0o644)
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
	r.smtpPort = startPostfix(t, postfix, dir, r.etc, dove, policyPort, r.sink.port)
	return r
}

// With the default answer, DEFER_IF_PERMIT, the message over the limit
// gets a 4xx at the end of its data and the client keeps it; nothing is
// queued.
func TestPostfixDefersOverLimitMail(t *testing.T) {
	r := newRig(t, "limits: [{window: 1h, messages: 3}]")
	c, err := smtp.Dial(fmt.Sprintf("127.0.0.1:%d", r.smtpPort))
	if err != nil {
		t.Fatal(err)
	}
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
	waitFor(t, 30*time.Second, "three deliveries", func() (bool, string) {
		n, q := r.sink.count("alice@example.org"), len(queuedAll(t, r.etc))
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
	smtpPort, etc, sink, db, dataDir, cfgFile := r.smtpPort, r.etc, r.sink, r.db, r.dataDir, r.cfgFile

	send(t, smtpPort, "alice@example.org", "alice-secret", 200)
	send(t, smtpPort, "bob@example.org", "bob-secret", 10)

	// alice: 20 delivered, 180 held; bob: all 10 delivered
	waitFor(t, 60*time.Second, "deliveries and holds", func() (bool, string) {
		held := queued(t, etc, "hold")
		others := len(queuedAll(t, etc)) - len(held)
		a, b := sink.count("alice@example.org"), sink.count("bob@example.org")
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
	waitFor(t, 60*time.Second, "released mail delivered", func() (bool, string) {
		n := len(queuedAll(t, etc))
		a := sink.count("alice@example.org")
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
	send(t, smtpPort, "bob@example.org", "bob-secret", 3)
	waitFor(t, 30*time.Second, "bob's mail held", func() (bool, string) {
		n := len(queued(t, etc, "hold"))
		return n == 3, fmt.Sprintf("held %d", n)
	})
	// purge asks first
	if code, out := vigie("n\n", "mail", "purge", "--sasl-user", "bob@example.org"); code != 1 || !strings.Contains(out, "nothing deleted") {
		t.Errorf("purge answered no: exit %d\n%s", code, out)
	}
	if n := len(queued(t, etc, "hold")); n != 3 {
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
	waitFor(t, 30*time.Second, "the local message held", func() (bool, string) {
		n := len(queued(t, etc, "hold"))
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
	waitFor(t, 10*time.Second, "an empty queue", func() (bool, string) {
		n := len(queuedAll(t, etc))
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

func waitFor(t *testing.T, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	var last string
	for time.Now().Before(deadline) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("waiting for %s: %s", what, last)
}

func queuedAll(t *testing.T, etc string) []map[string]any {
	t.Helper()
	out, err := exec.Command("postqueue", "-c", etc, "-j").Output()
	if err != nil {
		t.Fatalf("postqueue -j: %v", err)
	}
	var msgs []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("postqueue -j line %q: %v", line, err)
		}
		msgs = append(msgs, m)
	}
	return msgs
}

func queued(t *testing.T, etc, queue string) []map[string]any {
	var out []map[string]any
	for _, m := range queuedAll(t, etc) {
		if m["queue_name"] == queue {
			out = append(out, m)
		}
	}
	return out
}

// send sends n messages in one authenticated SMTP session.
func send(t *testing.T, port int, user, pass string, n int) {
	t.Helper()
	c, err := smtp.Dial(fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.example"); err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(smtp.PlainAuth("", user, pass, "127.0.0.1")); err != nil {
		t.Fatalf("AUTH %s: %v", user, err)
	}
	for i := range n {
		if err := c.Mail(user); err != nil {
			t.Fatalf("%s message %d: MAIL: %v", user, i, err)
		}
		if err := c.Rcpt(fmt.Sprintf("rcpt%d@example.net", i)); err != nil {
			t.Fatalf("%s message %d: RCPT: %v", user, i, err)
		}
		w, err := c.Data()
		if err != nil {
			t.Fatalf("%s message %d: DATA: %v", user, i, err)
		}
		fmt.Fprintf(w, "From: %s\r\nSubject: message %d\r\n\r\nhello\r\n", user, i)
		if err := w.Close(); err != nil {
			t.Fatalf("%s message %d: end of data: %v", user, i, err)
		}
	}
	c.Quit()
}

// startDovecot runs Dovecot's auth service only, with a passwd-file.
func startDovecot(t *testing.T, dir string, users map[string]string) string {
	t.Helper()
	d := filepath.Join(dir, "dovecot")
	os.MkdirAll(filepath.Join(d, "run"), 0o755)
	var pw strings.Builder
	for u, p := range users {
		fmt.Fprintf(&pw, "%s:{PLAIN}%s::::::\n", u, p)
	}
	os.WriteFile(filepath.Join(d, "passwd"), []byte(pw.String()), 0o644)
	sock := filepath.Join(d, "auth")
	conf := filepath.Join(d, "dovecot.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/run
protocols =
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
log_path = %[1]s/dovecot.log
passdb {
  driver = passwd-file
  args = scheme=PLAIN %[1]s/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}
service auth {
  unix_listener %[2]s {
    mode = 0666
  }
}
service anvil {
  chroot =
}
`, d, sock)), 0o644)
	if out, err := runDaemon(filepath.Join(d, "start.log"), "dovecot", "-c", conf); err != nil {
		t.Fatalf("dovecot: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if b, err := os.ReadFile(filepath.Join(d, "run", "master.pid")); err == nil {
			var pid int
			fmt.Sscan(string(b), &pid)
			if p, err := os.FindProcess(pid); err == nil && pid > 1 {
				p.Signal(os.Interrupt)
				waitGone(pid)
			}
		}
	})
	waitFor(t, 10*time.Second, "dovecot's auth socket", func() (bool, string) {
		_, err := os.Stat(sock)
		return err == nil, fmt.Sprint(err)
	})
	return sock
}

func startPostfix(t *testing.T, postfix, dir, etc, saslSock string, policyPort, sinkPort int) int {
	t.Helper()
	port := testutil.FreePort(t)
	for _, sub := range []string{etc, filepath.Join(dir, "queue"), filepath.Join(dir, "pfdata")} {
		os.MkdirAll(sub, 0o755)
	}
	os.Chown(filepath.Join(dir, "pfdata"), postfixUID(t), -1)
	main := fmt.Sprintf(`compatibility_level = 3.6
queue_directory = %[1]s/queue
data_directory = %[1]s/pfdata
maillog_file = %[1]s/maillog
maillog_file_prefixes = %[1]s
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = vigie-test.localdomain
mydestination =
alias_maps =
alias_database =
relayhost = [127.0.0.1]:%[2]d
smtp_tls_security_level = none
smtpd_tls_security_level = none
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = %[3]s
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_end_of_data_restrictions = check_policy_service inet:127.0.0.1:%[4]d
smtpd_policy_service_default_action = DUNNO
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
smtp_connection_cache_on_demand = no
header_checks = regexp:%[1]s/header_checks
`, dir, sinkPort, saslSock, policyPort)
	master := fmt.Sprintf(`127.0.0.1:%d inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`, port)
	os.WriteFile(filepath.Join(etc, "main.cf"), []byte(main), 0o644)
	// how the test keeps a locally submitted message in the queue
	os.WriteFile(filepath.Join(dir, "header_checks"), []byte("/^Subject: held by test/ HOLD\n"), 0o644)
	os.WriteFile(filepath.Join(etc, "master.cf"), []byte(master), 0o644)
	if out, err := runDaemon(filepath.Join(dir, "postfix-start.log"), postfix, "-c", etc, "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "maillog"))
		t.Fatalf("postfix start: %v\n%s\n%s", err, out, log)
	}
	t.Cleanup(func() {
		var pid int
		if b, err := os.ReadFile(filepath.Join(dir, "queue", "pid", "master.pid")); err == nil {
			fmt.Sscan(string(b), &pid)
		}
		exec.Command(postfix, "-c", etc, "stop").Run()
		if pid > 1 {
			waitGone(pid)
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "maillog"))
			t.Logf("maillog:\n%s", lastLines(string(log), 40))
		}
	})
	waitFor(t, 20*time.Second, "postfix's smtpd", func() (bool, string) {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
		}
		return err == nil, fmt.Sprint(err)
	})
	return port
}

// runDaemon runs a command that starts a daemon, its output to a file: the
// daemon inherits the descriptors, so a pipe would never see its end.
func runDaemon(logFile, name string, args ...string) (string, error) {
	f, err := os.Create(logFile)
	if err != nil {
		return "", err
	}
	defer f.Close()
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = f, f
	err = cmd.Run()
	out, _ := os.ReadFile(logFile)
	return string(out), err
}

// waitGone waits a few seconds for a daemon the test stopped to exit, so
// that its files can be removed.
func waitGone(pid int) {
	for range 100 {
		// gone, or a zombie (a daemon's parent is init, which may be slow to reap)
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return
		}
		if _, after, ok := strings.Cut(string(b), ") "); ok && strings.HasPrefix(after, "Z") {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func postfixUID(t *testing.T) int {
	out, err := exec.Command("id", "-u", "postfix").Output()
	if err != nil {
		t.Fatalf("no postfix user: %v", err)
	}
	var uid int
	fmt.Sscan(string(out), &uid)
	return uid
}

// sink is the SMTP server Postfix relays to: it counts messages by sender.
type sink struct {
	port int
	mu   sync.Mutex
	by   map[string]int
}

func (s *sink) count(sender string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.by[sender]
}

func startSink(t *testing.T) *sink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{port: ln.Addr().(*net.TCPAddr).Port, by: map[string]int{}}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); s.serve(c) }()
		}
	}()
	return s
}

func (s *sink) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Minute))
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	reply := func(l string) { w.WriteString(l + "\r\n"); w.Flush() }
	reply("220 sink ESMTP")
	from := ""
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			reply("250 sink")
		case strings.HasPrefix(cmd, "MAIL FROM:"):
			f := strings.TrimSpace(line[len("MAIL FROM:"):])
			f, _, _ = strings.Cut(f, " ")
			from = strings.Trim(f, "<>\r\n")
			reply("250 ok")
		case strings.HasPrefix(cmd, "RCPT"):
			reply("250 ok")
		case cmd == "DATA":
			reply("354 go")
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" || l == ".\n" {
					break
				}
			}
			s.mu.Lock()
			s.by[from]++
			s.mu.Unlock()
			reply("250 queued")
		case cmd == "QUIT":
			reply("221 bye")
			return
		default:
			reply("250 ok")
		}
	}
}

func storeAuditQuery(action string) store.AuditQuery { return store.AuditQuery{Action: action} }
