package mail

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/testutil"
)

// postfixLab is a real Postfix (and Dovecot for SASL) started from a temp
// directory: smtpd and submission on loopback ports, its own queue and
// maillog_file, relaying everything to a sink SMTP server the test runs.
type postfixLab struct {
	dir, confDir, log string
	smtpPort, subPort int
	sink              *sink
	postfix, swaks    string
}

// sink is a minimal SMTP server: it accepts every message, except that it
// answers like Microsoft's blocklist for outlook.com recipients and defers
// recipients at slow.example.
type sink struct {
	ln net.Listener
	wg sync.WaitGroup
}

func startSink(t *testing.T) *sink {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() { defer s.wg.Done(); s.serve(c) }()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *sink) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute))
	r := bufio.NewReader(c)
	say := func(l string) { fmt.Fprintf(c, "%s\r\n", l) }
	say("220 sink.test ESMTP")
	accepted := 0
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250-sink.test")
			say("250 8BITMIME")
		case strings.HasPrefix(cmd, "MAIL"):
			accepted = 0
			say("250 2.1.0 ok")
		case strings.HasPrefix(cmd, "RCPT"):
			switch {
			case strings.Contains(cmd, "@OUTLOOK.COM"):
				say("550 5.7.1 Unfortunately, messages from [192.0.2.25] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150).")
			case strings.Contains(cmd, "@SLOW.EXAMPLE"):
				say("451 4.3.0 try again later")
			default:
				accepted++
				say("250 2.1.5 ok")
			}
		case cmd == "DATA":
			if accepted == 0 {
				say("554 no valid recipients")
				continue
			}
			say("354 go ahead")
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" || l == ".\n" {
					break
				}
			}
			say("250 2.0.0 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}

func startPostfixLab(t *testing.T, users map[string]string) *postfixLab {
	t.Helper()
	postfixBin := testutil.RequireProgram(t, "postfix")
	dovecotBin := testutil.RequireProgram(t, "dovecot")
	swaks := testutil.RequireProgram(t, "swaks")
	testutil.RequireProgram(t, "postqueue")
	if os.Geteuid() != 0 {
		t.Skip("starting Postfix needs root")
	}
	// Postfix refuses a queue under a world-writable directory such as /tmp's test dirs: make our own.
	dir, err := os.MkdirTemp("", "vigie-postfix-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	if os.Getenv("VIGIE_KEEP") == "" {
		t.Cleanup(func() { os.RemoveAll(dir) })
	}
	lab := &postfixLab{dir: dir, confDir: filepath.Join(dir, "etc"), log: filepath.Join(dir, "maillog"),
		smtpPort: testutil.FreePort(t), subPort: testutil.FreePort(t), sink: startSink(t), postfix: postfixBin, swaks: swaks}
	for _, d := range []string{"etc", "queue", "data", "dovecot/run", "dovecot/state"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	sinkPort := lab.sink.ln.Addr().(*net.TCPAddr).Port
	// Postfix's data directory belongs to its mail owner.
	if out, err := exec.Command("chown", "postfix", filepath.Join(dir, "data")).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v %s", err, out)
	}

	// Dovecot: SASL only (no IMAP/POP), users from a passwd-file.
	var pw strings.Builder
	for u, p := range users {
		fmt.Fprintf(&pw, "%s:{PLAIN}%s::::::\n", u, p)
	}
	write(t, filepath.Join(dir, "dovecot/passwd"), pw.String())
	write(t, filepath.Join(dir, "dovecot/dovecot.conf"), fmt.Sprintf(`
base_dir = %[1]s/dovecot/run
state_dir = %[1]s/dovecot/state
log_path = %[1]s/dovecot/dovecot.log
protocols =
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = nobody
default_login_user = nobody
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %[1]s/dovecot/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}
service auth {
  unix_listener %[1]s/queue/private/auth {
    mode = 0666
  }
}
service anvil {
  chroot =
}
`, dir))

	write(t, filepath.Join(lab.confDir, "main.cf"), fmt.Sprintf(`
compatibility_level = 3.6
queue_directory = %[1]s/queue
data_directory = %[1]s/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.vigie.test
mydomain = vigie.test
myorigin = vigie.test
mydestination =
local_recipient_maps =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:%[2]d
smtp_tls_security_level = none
smtpd_tls_security_level = none
smtp_dns_support_level = disabled
disable_dns_lookups = yes
maillog_file = %[3]s
maillog_file_prefixes = %[1]s
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
smtpd_sasl_auth_enable = no
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
bounce_queue_lifetime = 1h
maximal_queue_lifetime = 1h
minimal_backoff_time = 300s
queue_run_delay = 300s
default_destination_concurrency_limit = 5
alias_maps =
alias_database =
biff = no
`, dir, sinkPort, lab.log))
	write(t, filepath.Join(lab.confDir, "master.cf"), fmt.Sprintf(`
127.0.0.1:%[1]d inet n - n - - smtpd
127.0.0.1:%[2]d inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject
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
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`, lab.smtpPort, lab.subPort))

	// Daemons keep the output pipe open; write to a file instead.
	run := func(name string, args ...string) {
		t.Helper()
		outName := filepath.Join(dir, filepath.Base(name)+".out")
		out, err := os.Create(outName)
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		cmd := exec.Command(name, args...)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Run(); err != nil {
			b, _ := os.ReadFile(outName)
			t.Fatalf("%s %v: %v\n%s", name, args, err, b)
		}
	}
	// Postfix first: it creates queue/private, where Dovecot puts the auth socket.
	run(postfixBin, "-c", lab.confDir, "start")
	t.Cleanup(func() { exec.Command(postfixBin, "-c", lab.confDir, "stop").Run(); time.Sleep(200 * time.Millisecond) })
	run(dovecotBin, "-c", filepath.Join(dir, "dovecot/dovecot.conf"))
	t.Cleanup(func() {
		exec.Command("doveadm", "-c", filepath.Join(dir, "dovecot/dovecot.conf"), "stop").Run()
		if b, err := os.ReadFile(filepath.Join(dir, "dovecot/run/master.pid")); err == nil {
			exec.Command("kill", strings.TrimSpace(string(b))).Run()
		}
	})
	// Wait for both listeners.
	for _, p := range []int{lab.smtpPort, lab.subPort} {
		deadline := time.Now().Add(10 * time.Second)
		for {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				b, _ := os.ReadFile(lab.log)
				t.Fatalf("postfix does not listen on %d: %v\n%s", p, err, b)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return lab
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// send submits one message with swaks: authenticated on the submission
// port when user is set, else as a local network client on the smtpd port.
func (l *postfixLab) send(t *testing.T, user, password, from string, to ...string) error {
	t.Helper()
	args := []string{"--silent", "2", "--server", "127.0.0.1", "--from", from, "--to", strings.Join(to, ","),
		"--header", "Subject: vigie test", "--body", "test", "--timeout", "20"}
	if user != "" {
		args = append(args, "--port", fmt.Sprint(l.subPort), "--auth", "PLAIN", "--auth-user", user, "--auth-password", password)
	} else {
		args = append(args, "--port", fmt.Sprint(l.smtpPort))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, l.swaks, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("swaks %v: %v\n%s", args, err, out)
	}
	return nil
}
