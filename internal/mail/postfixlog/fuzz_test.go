package postfixlog

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzParse checks that no line panics the parser, and that every field
// it returns is a piece of the line (the parser never invents text).
func FuzzParse(f *testing.F) {
	if fh, err := os.Open("testdata/sample.log"); err == nil {
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			f.Add(sc.Text())
		}
		fh.Close()
	}
	f.Add(strings.Repeat("A", 1<<20))
	f.Add("Sep 29 13:00:01 mx postfix/smtpd[1]: ABCDEF: client=" + strings.Repeat("[", 100))
	f.Add("Sep 29 13:00:01 mx postfix/smtpd[1]: NOQUEUE: reject: RCPT from x[1]: 5; from=<a\x00b> to=<\x1b[31m> helo=<")
	f.Add("2024-09-29T13:00:01.9999999999999+99:99 h postfix/smtp[1]: ABCDEF: to=<")
	f.Add("\xff\xfe\x00binary\x00")
	f.Fuzz(func(t *testing.T, line string) {
		p := NewParser(Options{Reference: time.Date(2024, 9, 30, 0, 0, 0, 0, time.UTC), Location: time.UTC})
		var e Entry
		p.Parse(line, &e)
		for _, s := range []string{e.Host, e.Program, e.QueueID, e.ClientIP, e.ClientName, e.SASLUser, e.Sender,
			e.Recipient, e.Relay, e.DSN, e.Status, e.Reply, e.Helo, e.MessageID, e.DNSBLZone, e.ChildQueueID} {
			if !strings.Contains(line, s) {
				t.Fatalf("field %q is not in the line %q", s, line)
			}
		}
		if e.QueueID != "" && !isQueueID(e.QueueID) {
			t.Fatalf("bad queue id %q", e.QueueID)
		}
		if e.Kind >= kindCount {
			t.Fatalf("kind %d", e.Kind)
		}
		_ = utf8.ValidString(e.Sender)
	})
}
