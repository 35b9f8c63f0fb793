package mail

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/mail/postfixlog"
	"github.com/vigie/vigie/internal/testutil"
	"github.com/vigie/vigie/internal/testutil/postfixtest"
	"github.com/vigie/vigie/internal/vigie"
)

// holdPolicy is a Postfix policy service on loopback that answers HOLD
// for one SASL user and DUNNO for everyone else, as vigie's own policy
// server does for a contained account.
func holdPolicy(t *testing.T, user string) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				hold := false
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					line = strings.TrimRight(line, "\r\n")
					if line == "sasl_username="+user {
						hold = true
					}
					if line != "" {
						continue
					}
					action := "DUNNO"
					if hold {
						action = "HOLD contained by the test"
					}
					fmt.Fprintf(c, "action=%s\n\n", action)
					hold = false
				}
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// Mail held by Postfix (a policy server's HOLD, as vigie's containment
// answers, and a header_checks HOLD) counts to its sender when it is
// held; the admin's release of it later (postsuper -H, then qmgr's from=)
// is not a second submission: the counts do not move and no alert fires
// on the release. On a real Postfix, whose hold lines the parser must
// know.
func TestHeldMailCountsOnceAcrossRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Postfix")
	}
	testutil.RequireProgram(t, "swaks")
	users := map[string]string{"mallory@example.org": "m-pw", "bob@example.org": "b-pw", "alice@example.org": "a-pw"}
	lab := postfixtest.Start(t, postfixtest.Options{
		Users:        users,
		Submission:   true,
		PolicyPort:   holdPolicy(t, "mallory@example.org"),
		HeaderChecks: "/^From:.*bob@example\\.org/ HOLD held by a header check\n",
		Main:         []string{"mynetworks = 127.0.0.0/8"},
	})
	const held = 12
	for i := range held {
		for _, u := range []string{"mallory@example.org", "bob@example.org"} {
			if err := lab.Swaks(u, users[u], u, fmt.Sprintf("r%d@dest%d.example", i, i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := lab.Swaks("alice@example.org", "a-pw", "alice@example.org", "friend@dest.example"); err != nil {
		t.Fatal(err)
	}
	postfixtest.WaitFor(t, 30*time.Second, "every message of mallory and bob held", func() (bool, string) {
		n := len(lab.QueueNamed(t, "hold"))
		return n == 2*held, fmt.Sprintf("held %d", n)
	})

	var fired []vigie.Finding
	e := NewEngine(EngineOptions{Config: defaults(), Emit: func(f vigie.Finding) { fired = append(fired, f) }})
	read := 0
	feed := func() {
		b, err := os.ReadFile(lab.Log)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(b), "\n")
		for _, l := range lines[read:] {
			if l != "" {
				e.Line(l)
			}
		}
		read = len(lines) - 1
	}
	feed()
	msgs := func(name string) int64 {
		a := e.volume.subjects[name]
		if a == nil {
			return 0
		}
		c, _, _, _ := a.counts(e.now)
		return c[mMsgs][wDay]
	}
	for _, u := range []string{"mallory@example.org", "bob@example.org"} {
		if got := msgs(u); got != held {
			t.Errorf("%s: %d messages counted while held, want %d", u, got, held)
		}
	}
	if got := msgs("alice@example.org"); got != 1 {
		t.Errorf("alice: %d messages, want 1", got)
	}
	holdLines := 0
	b, _ := os.ReadFile(lab.Log)
	p := postfixlog.NewParser(postfixlog.Options{})
	for _, l := range strings.Split(string(b), "\n") {
		var en postfixlog.Entry
		en.Reset()
		p.Parse(l, &en)
		if en.Kind == postfixlog.KindHold {
			if holdLines++; holdLines <= 2 || testing.Verbose() && en.Sender == "bob@example.org" && holdLines < 40 {
				t.Logf("hold line: %s", l)
			}
		}
	}
	if holdLines < 2*held {
		t.Errorf("%d hold lines parsed, want at least %d:\n%s", holdLines, 2*held, b)
	}

	before := len(fired)
	out, err := exec.CommandContext(context.Background(), "postsuper", "-c", lab.ConfDir, "-H", "ALL").CombinedOutput()
	if err != nil {
		t.Fatalf("postsuper -H ALL: %v\n%s", err, out)
	}
	exec.Command("postqueue", "-c", lab.ConfDir, "-f").Run()
	postfixtest.WaitFor(t, 60*time.Second, "the released mail delivered", func() (bool, string) {
		n := len(lab.Queue(t))
		return n == 0, fmt.Sprintf("%d still queued", n)
	})
	feed()
	for _, u := range []string{"mallory@example.org", "bob@example.org"} {
		if got := msgs(u); got != held {
			t.Errorf("%s: %d messages after the release, want still %d", u, got, held)
		}
	}
	for _, f := range fired[before:] {
		t.Errorf("the release raised %s/%s on %s", f.Watch, f.Rule, f.Subject)
	}
}
