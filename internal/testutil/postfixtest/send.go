package postfixtest

import (
	"context"
	"fmt"
	"net/smtp"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Swaks submits one message with swaks: authenticated on the submission
// port when user is set, else as a client on the smtpd port. It returns
// an error rather than failing the test so that it may be called from
// other goroutines; the caller requires swaks before starting the lab.
func (l *Lab) Swaks(user, password, from string, to ...string) error {
	swaks, err := exec.LookPath("swaks")
	if err != nil {
		return err
	}
	args := []string{"--silent", "2", "--server", "127.0.0.1", "--from", from, "--to", strings.Join(to, ","),
		"--header", "Subject: vigie test", "--body", "test", "--timeout", "20"}
	if user != "" {
		args = append(args, "--port", fmt.Sprint(l.SubmissionPort), "--auth", "PLAIN", "--auth-user", user, "--auth-password", password)
	} else {
		args = append(args, "--port", fmt.Sprint(l.SMTPPort))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, swaks, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("swaks %v: %v\n%s", args, err, out)
	}
	return nil
}

// Dial opens an SMTP session with smtpd.
func (l *Lab) Dial(t testing.TB) *smtp.Client {
	t.Helper()
	c, err := smtp.Dial(fmt.Sprintf("127.0.0.1:%d", l.SMTPPort))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// SendMany sends n messages from user, to rcpt<i>@example.net, in one
// session authenticated on the smtpd port; any refusal fails the test.
func (l *Lab) SendMany(t testing.TB, user, pass string, n int) {
	t.Helper()
	c := l.Dial(t)
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
