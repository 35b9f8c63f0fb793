// Package postfixtest starts a real Postfix, with Dovecot for SASL, from a
// temp directory on loopback for integration tests: its own main.cf and
// master.cf, queue and maillog_file, relaying everything to a sink SMTP
// server the test runs. Postfix and Dovecot are stopped when the test ends.
package postfixtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/testutil"
)

// Options are what the suites set differently.
type Options struct {
	// Users are the SASL accounts (name to password) of Dovecot's passwd-file.
	Users map[string]string
	// Main are main.cf lines ("name = value") added after the base ones; a
	// name the base sets is replaced.
	Main []string
	// Submission adds a second smtpd, where SASL is required, as a
	// submission port logging as postfix/submission.
	Submission bool
	// PolicyPort, when set, makes smtpd ask the policy service on that
	// loopback port at the end of each message.
	PolicyPort int
	// HeaderChecks, when set, is Postfix's regexp header_checks table.
	HeaderChecks string
	// Rcpt decides the sink's replies to recipients; nil accepts them all.
	Rcpt RcptFunc
}

// Lab is a running Postfix.
type Lab struct {
	Dir     string // the temp directory holding it all
	ConfDir string // what `postfix -c` and `postqueue -c` take
	Log     string // Postfix's maillog_file
	// SMTPPort is smtpd's port; SubmissionPort the submission listener's
	// (0 without Options.Submission).
	SMTPPort, SubmissionPort int
	Sink                     *Sink
	postqueue                string
}

// Start starts Postfix and Dovecot; it skips the test (or fails it under
// `make test`) when a program is missing or vigie is not root, and skips
// it under -short.
func Start(t testing.TB, o Options) *Lab {
	t.Helper()
	postfix := testutil.RequireProgram(t, "postfix")
	dovecot := testutil.RequireProgram(t, "dovecot")
	postqueue := testutil.RequireProgram(t, "postqueue")
	testutil.RequireRoot(t, "starting Postfix")
	if testing.Short() {
		t.Skip("starts Postfix and Dovecot")
	}
	// Postfix refuses a queue under a world-writable directory, and
	// Postfix's and Dovecot's users must reach their files: a 0755
	// directory of our own. VIGIE_KEEP keeps it to look at.
	dir, err := os.MkdirTemp("", "vigie-postfix-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	if os.Getenv("VIGIE_KEEP") == "" {
		t.Cleanup(func() { os.RemoveAll(dir) })
	} else {
		t.Logf("VIGIE_KEEP: Postfix's files stay in %s", dir)
	}
	l := &Lab{Dir: dir, ConfDir: filepath.Join(dir, "etc"), Log: filepath.Join(dir, "maillog"),
		SMTPPort: testutil.FreePort(t), Sink: StartSink(t, o.Rcpt), postqueue: postqueue}
	if o.Submission {
		l.SubmissionPort = testutil.FreePort(t)
	}
	for _, sub := range []string{"etc", "queue", "data"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Postfix's data directory belongs to its mail owner.
	if out, err := exec.Command("chown", "postfix", filepath.Join(dir, "data")).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v %s", err, out)
	}

	sock := startDovecot(t, dovecot, dir, o.Users)
	writeFile(t, filepath.Join(l.ConfDir, "main.cf"), mainCF(o, dir, sock, l.Sink.Port))
	writeFile(t, filepath.Join(l.ConfDir, "master.cf"), masterCF(l.SMTPPort, l.SubmissionPort))
	if o.HeaderChecks != "" {
		writeFile(t, filepath.Join(dir, "header_checks"), o.HeaderChecks)
	}
	if out, err := runDaemon(filepath.Join(dir, "postfix-start.log"), postfix, "-c", l.ConfDir, "start"); err != nil {
		log, _ := os.ReadFile(l.Log)
		t.Fatalf("postfix start: %v\n%s\n%s", err, out, log)
	}
	t.Cleanup(func() {
		pid := readPID(filepath.Join(dir, "queue", "pid", "master.pid"))
		exec.Command(postfix, "-c", l.ConfDir, "stop").Run()
		if pid > 1 {
			waitGone(pid)
		}
		if t.Failed() {
			log, _ := os.ReadFile(l.Log)
			t.Logf("maillog:\n%s", lastLines(string(log), 40))
		}
	})
	for _, port := range []int{l.SMTPPort, l.SubmissionPort} {
		if port == 0 {
			continue
		}
		WaitFor(t, 20*time.Second, fmt.Sprintf("postfix's smtpd on port %d", port), func() (bool, string) {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err == nil {
				c.Close()
			}
			return err == nil, fmt.Sprint(err)
		})
	}
	return l
}
