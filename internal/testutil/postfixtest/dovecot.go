package postfixtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startDovecot runs Dovecot's auth service only (no IMAP/POP), its users
// from a passwd-file, and returns the path of the auth socket Postfix's
// smtpd asks. Postfix's smtpd runs unchrooted, so the socket can live in
// the Dovecot directory and Dovecot can start first.
func startDovecot(t testing.TB, dovecot, dir string, users map[string]string) string {
	t.Helper()
	d := filepath.Join(dir, "dovecot")
	for _, sub := range []string{"run", "state"} {
		if err := os.MkdirAll(filepath.Join(d, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var pw strings.Builder
	for u, p := range users {
		fmt.Fprintf(&pw, "%s:{PLAIN}%s::::::\n", u, p)
	}
	writeFile(t, filepath.Join(d, "passwd"), pw.String())
	sock := filepath.Join(d, "auth")
	conf := filepath.Join(d, "dovecot.conf")
	writeFile(t, conf, fmt.Sprintf(`base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
protocols =
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = nobody
default_login_user = nobody
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %[1]s/passwd
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
`, d, sock))
	if out, err := runDaemon(filepath.Join(d, "start.log"), dovecot, "-c", conf); err != nil {
		t.Fatalf("dovecot: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if pid := readPID(filepath.Join(d, "run", "master.pid")); pid > 1 {
			if p, err := os.FindProcess(pid); err == nil {
				p.Signal(os.Interrupt)
				waitGone(pid)
			}
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(d, "dovecot.log"))
			t.Logf("dovecot.log:\n%s", lastLines(string(log), 20))
		}
	})
	WaitFor(t, 10*time.Second, "dovecot's auth socket", func() (bool, string) {
		_, err := os.Stat(sock)
		return err == nil, fmt.Sprint(err)
	})
	return sock
}

// SetPassword changes a SASL user's password in Dovecot's passwd-file, as
// an admin does after a password was stolen; Dovecot reads the file again
// at the next login.
func (l *Lab) SetPassword(t testing.TB, user, password string) {
	t.Helper()
	path := filepath.Join(l.Dir, "dovecot", "passwd")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	found := false
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if name, _, ok := strings.Cut(line, ":"); ok && name == user {
			line, found = fmt.Sprintf("%s:{PLAIN}%s::::::", user, password), true
		}
		out.WriteString(line + "\n")
	}
	if !found {
		t.Fatalf("no SASL user %q", user)
	}
	// a new file, renamed over the old: Dovecot never reads half of it
	tmp := path + ".new"
	writeFile(t, tmp, out.String())
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}
