package mail

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/mail/postfixlog"
)

// journalctl needs a running journald, which the test machine may not
// have; this stand-in prints recorded `journalctl -o json` entries and
// records its arguments, which is what the follower depends on.
const fakeJournalctl = `#!/bin/sh
echo "$@" >> "$(dirname "$0")/args"
cat "$(dirname "$0")/entries"
exec sleep 60
`

func TestJournalFollower(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "journalctl")
	os.WriteFile(bin, []byte(fakeJournalctl), 0o755)
	entries := `{"__CURSOR":"s=1;i=1","__REALTIME_TIMESTAMP":"1727614801000000","_HOSTNAME":"mx","SYSLOG_IDENTIFIER":"postfix/submission/smtpd","SYSLOG_PID":"1234","MESSAGE":"3F4A21C0D2: client=unknown[203.0.113.5], sasl_method=PLAIN, sasl_username=alice@example.org"}
{"__CURSOR":"s=1;i=2","__REALTIME_TIMESTAMP":"1727614802000000","_HOSTNAME":"mx","SYSLOG_IDENTIFIER":"dovecot","_PID":"77","MESSAGE":"imap-login: Login"}
{"__CURSOR":"s=1;i=3","__REALTIME_TIMESTAMP":"1727614803000000","_HOSTNAME":"mx","SYSLOG_IDENTIFIER":"postfix/smtpd","_PID":"55","MESSAGE":[119,97,114,110,105,110,103,58,32,255]}
not json
{"__CURSOR":"s=1;i=4","__REALTIME_TIMESTAMP":"1727614804000000","_HOSTNAME":"mx","SYSLOG_IDENTIFIER":"postfix/qmgr","_PID":"9","MESSAGE":"3F4A21C0D2: removed"}
`
	os.WriteFile(filepath.Join(dir, "entries"), []byte(entries), 0o644)

	var mu sync.Mutex
	var got []postfixlog.Entry
	skips := 0
	cursor, have := "", false
	run := func(want int) {
		ctx, cancel := context.WithCancel(context.Background())
		jf := &JournalFollower{Journalctl: bin,
			Load: func(context.Context) (string, bool, error) { mu.Lock(); defer mu.Unlock(); return cursor, have, nil },
			Save: func(_ context.Context, c string) error {
				mu.Lock()
				defer mu.Unlock()
				cursor, have = c, true
				return nil
			},
			Entry: func(e *postfixlog.Entry) {
				mu.Lock()
				defer mu.Unlock()
				c := *e
				c.Message = strings.Clone(c.Message)
				got = append(got, c)
			},
			Skip: func() { mu.Lock(); skips++; mu.Unlock() }}
		done := make(chan error)
		go func() { done <- jf.Run(ctx) }()
		deadline := time.Now().Add(10 * time.Second)
		for {
			mu.Lock()
			n := len(got)
			mu.Unlock()
			if n >= want || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	run(4)
	if len(got) != 4 || skips != 1 {
		t.Fatalf("got %d entries, %d skipped", len(got), skips)
	}
	a := got[0]
	if a.Kind != postfixlog.KindClient || a.SASLUser != "alice@example.org" || a.PID != 1234 || a.Host != "mx" ||
		!a.Time.Equal(time.Unix(1727614801, 0)) {
		t.Errorf("first entry %+v", a)
	}
	if got[1].Kind != postfixlog.KindNotPostfix || got[2].Kind != postfixlog.KindOther || got[2].Message != "warning: \xff" ||
		got[3].Kind != postfixlog.KindRemoved {
		t.Errorf("entries %+v", got[1:])
	}
	if cursor != "s=1;i=4" {
		t.Errorf("cursor %q", cursor)
	}
	run(8) // the stand-in ignores the cursor; journalctl honours it
	args, _ := os.ReadFile(filepath.Join(dir, "args"))
	lines := strings.Split(strings.TrimSpace(string(args)), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "--lines=0") || !strings.Contains(lines[1], "--after-cursor=s=1;i=4") ||
		!strings.HasSuffix(lines[1], "SYSLOG_FACILITY=2") || !strings.Contains(lines[1], "--output=json") {
		t.Errorf("journalctl arguments:\n%s", args)
	}
}
