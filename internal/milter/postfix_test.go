package milter_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/mailqueue"
	"github.com/vigie/vigie/internal/milter"
	"github.com/vigie/vigie/internal/testutil/postfixtest"
)

func TestMain(m *testing.M) {
	postfixtest.RunHelper()
	os.Exit(m.Run())
}

// recorder is a gate that remembers what it was told and holds the mail of
// one sender.
type recorder struct {
	mu   sync.Mutex
	seen []milter.Message
	hold string
}

func (r *recorder) Check(_ context.Context, m *milter.Message) milter.Decision {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, *m)
	if m.Sender == r.hold {
		return milter.Decision{Verdict: milter.Hold, Reason: "held by the test"}
	}
	return milter.Decision{}
}

func (r *recorder) messages() []milter.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]milter.Message(nil), r.seen...)
}

func listen(t *testing.T) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// A real Postfix asks the milter about SASL, unauthenticated SMTP and
// sendmail mail: the gate is told the SASL user, the client of every
// message of a session, and the uid that ran sendmail (not the one a
// header written by the sender claims); a hold puts the message in
// Postfix's hold queue.
func TestPostfixTellsTheGateEveryPath(t *testing.T) {
	smtpLn, localLn := listen(t), listen(t)
	lab := postfixtest.Start(t, postfixtest.Options{
		Users: map[string]string{"alice@example.org": "alice-secret"},
		Main: append(postfixtest.MilterMain(smtpLn.Addr().String(), localLn.Addr().String()),
			"smtpd_sasl_auth_enable = yes",
			"smtpd_relay_restrictions = permit_sasl_authenticated, permit_mynetworks, reject",
			"mynetworks = 127.0.0.0/8"),
	})
	gate := &recorder{hold: "spam@forged.example"}
	tools := &mailqueue.Tools{ConfigDir: lab.ConfDir, Postcat: []string{"postcat"}}
	srv := &milter.Server{Gate: gate, UIDOf: tools.UIDOf}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); srv.Serve(ctx, smtpLn, milter.PathSMTP) }()
	go func() { defer wg.Done(); srv.Serve(ctx, localLn, milter.PathLocal) }()
	t.Cleanup(func() { cancel(); wg.Wait() })

	lab.SendMany(t, "alice@example.org", "alice-secret", 2)
	// unauthenticated, two messages in one session, one held
	c := lab.Dial(t)
	for _, from := range []string{"news@site.example", "spam@forged.example"} {
		if err := c.Mail(from); err != nil {
			t.Fatal(err)
		}
		c.Rcpt("x@example.net")
		w, _ := c.Data()
		fmt.Fprintf(w, "Received: by mx (Postfix, from userid 0)\r\nSubject: x\r\n\r\nhi\r\n")
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	c.Quit()
	// sendmail run as uid 33 (a PHP site), with a forged pickup header
	if err := lab.SendmailAs(33, 33, "wp@site.example", []string{"a@example.net", "b@example.net"},
		"Received: by mx (Postfix, from userid 0)\nSubject: from php\n\nspam\n"); err != nil {
		t.Fatal(err)
	}
	postfixtest.WaitFor(t, 30*time.Second, "five messages seen, one held", func() (bool, string) {
		held := len(lab.QueueNamed(t, "hold"))
		return len(gate.messages()) == 5 && held == 1, fmt.Sprintf("seen %d, held %d", len(gate.messages()), held)
	})
	var got []string
	for _, m := range gate.messages() {
		if m.QueueID == "" {
			t.Errorf("no queue id: %+v", m)
		}
		got = append(got, fmt.Sprintf("%s user=%q client=%v uid=%d from=%s rcpts=%d", m.Path, m.SASLUser, m.Client, m.UID, m.Sender, m.Recipients))
	}
	want := []string{
		`smtp user="alice@example.org" client=127.0.0.1 uid=-1 from=alice@example.org rcpts=1`,
		`smtp user="alice@example.org" client=127.0.0.1 uid=-1 from=alice@example.org rcpts=1`,
		`smtp user="" client=127.0.0.1 uid=-1 from=news@site.example rcpts=1`,
		`smtp user="" client=127.0.0.1 uid=-1 from=spam@forged.example rcpts=1`,
		`local user="" client=invalid IP uid=33 from=wp@site.example rcpts=2`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the gate was told:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if h := lab.QueueNamed(t, "hold"); len(h) != 1 || h[0]["sender"] != "spam@forged.example" {
		t.Errorf("hold queue: %v", h)
	}
}
