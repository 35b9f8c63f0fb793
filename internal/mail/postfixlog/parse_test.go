package postfixlog

import (
	"bufio"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

var ref = time.Date(2024, 9, 30, 0, 0, 0, 0, time.UTC)

func parseOne(line string) Entry {
	p := NewParser(Options{Reference: ref, Location: time.UTC})
	var e Entry
	p.Parse(line, &e)
	return e
}

func TestParseKinds(t *testing.T) {
	cases := []struct {
		name, line string
		check      func(e Entry) bool
	}{
		{"sasl client", "Sep 29 13:00:01 mx postfix/submission/smtpd[1234]: 3F4A21C0D2: client=unknown[203.0.113.5], sasl_method=PLAIN, sasl_username=alice@example.org",
			func(e Entry) bool {
				return e.Kind == KindClient && e.QueueID == "3F4A21C0D2" && e.ClientIP == "203.0.113.5" && e.SASLUser == "alice@example.org" &&
					e.SASLMethod == "PLAIN" && e.Daemon == "smtpd" && e.Program == "postfix/submission/smtpd" && e.PID == 1234 &&
					e.Time.Equal(time.Date(2024, 9, 29, 13, 0, 1, 0, time.UTC))
			}},
		{"client with port", "Sep 29 13:00:01 mx postfix/smtpd[1]: 3F4A21C0D2: client=a.example[192.0.2.1]:4321",
			func(e Entry) bool {
				return e.Kind == KindClient && e.ClientIP == "192.0.2.1" && e.ClientName == "a.example"
			}},
		{"pickup", "Sep  1 09:05:00 mx postfix/pickup[1100]: 9A1B2C3D4E: uid=33 from=<www-data>",
			func(e Entry) bool {
				return e.Kind == KindPickup && e.UID == 33 && e.Sender == "www-data" && e.Time.Day() == 1
			}},
		{"queued", "Sep 29 13:00:01 mx postfix/qmgr[900]: 3F4A21C0D2: from=<alice@example.org>, size=1532, nrcpt=2 (queue active)",
			func(e Entry) bool {
				return e.Kind == KindQueued && e.Sender == "alice@example.org" && e.Size == 1532 && e.Nrcpt == 2
			}},
		{"null sender", "Sep 29 13:00:16 mx postfix/qmgr[900]: B1234567CD: from=<>, size=3000, nrcpt=1 (queue active)",
			func(e Entry) bool { return e.Kind == KindQueued && e.Sender == "" && e.Nrcpt == 1 }},
		{"expired", "Sep  1 09:05:00 mx postfix/qmgr[900]: 9A1B2C3D4E: from=<w@x>, status=expired, returned to sender",
			func(e Entry) bool { return e.Kind == KindExpired && e.Sender == "w@x" }},
		// The three hold lines, as a real Postfix 3.7 wrote them (policy
		// service HOLD at end of data, header_checks HOLD) and as
		// cleanup_milter.c writes a milter quarantine.
		{"policy hold", "Dec 04 17:15:51 mx postfix/submission/smtpd[21376]: D665C9BE5A3: hold: END-OF-MESSAGE from localhost[127.0.0.1]: <END-OF-MESSAGE>: End-of-data contained by the test; from=<mallory@example.org> to=<r0@dest0.example> proto=ESMTP helo=<vm>",
			func(e Entry) bool {
				return e.Kind == KindHold && e.QueueID == "D665C9BE5A3" && e.Sender == "mallory@example.org" && e.ClientIP == "127.0.0.1"
			}},
		{"header hold", "Dec 04 17:15:52 mx postfix/cleanup[21385]: 104579BE084: hold: header From: bob@example.org; from=<forged@x> from localhost[127.0.0.1]; from=<bob@example.org> to=<r0@dest0.example> proto=ESMTP helo=<vm>: held by a header check",
			func(e Entry) bool { return e.Kind == KindHold && e.Sender == "bob@example.org" }},
		{"milter hold", "Dec 04 17:15:52 mx postfix/cleanup[21385]: 104579BE085: milter-hold: END-OF-MESSAGE from localhost[127.0.0.1]: milter triggers HOLD action; from=<wp@site.example> to=<a@example.net> proto=ESMTP helo=<localhost>",
			func(e Entry) bool {
				return e.Kind == KindHold && e.QueueID == "104579BE085" && e.Sender == "wp@site.example"
			}},
		{"removed", "Sep 29 13:00:02 mx postfix/qmgr[900]: 3F4A21C0D2: removed",
			func(e Entry) bool { return e.Kind == KindRemoved && e.QueueID == "3F4A21C0D2" }},
		{"message-id", "Sep 29 13:00:01 mx postfix/cleanup[1240]: 3F4A21C0D2: message-id=<a@b>",
			func(e Entry) bool { return e.Kind == KindMessageID && e.MessageID == "a@b" }},
		{"delivery", "2024-09-29T13:00:02+02:00 mx postfix/smtp[1250]: 3F4A21C0D2: to=<carol@gmail.com>, orig_to=<c@example.org>, relay=gmail-smtp-in.l.google.com[142.250.1.27]:25, delay=1.2, delays=0.1/0/0.6/0.5, dsn=2.0.0, status=sent (250 2.0.0 OK, id=1)",
			func(e Entry) bool {
				return e.Kind == KindDelivery && e.Recipient == "carol@gmail.com" && e.OrigTo == "c@example.org" && e.DSN == "2.0.0" &&
					e.Status == "sent" && e.Reply == "250 2.0.0 OK, id=1" && e.Relay == "gmail-smtp-in.l.google.com[142.250.1.27]:25" &&
					e.Time.Equal(time.Date(2024, 9, 29, 11, 0, 2, 0, time.UTC))
			}},
		{"long queue id", "2024-09-29T13:00:06Z mx postfix/smtpd[1302]: 3Pt2mN2VXxznjll: client=mail.example.net[2001:db8::25]",
			func(e Entry) bool {
				return e.Kind == KindClient && e.QueueID == "3Pt2mN2VXxznjll" && e.ClientIP == "2001:db8::25"
			}},
		{"journal short-iso", "2024-09-29T13:00:06.5+0200 mx postfix/lmtp[1303]: 3Pt2mN2VXxznjll: to=<d@example.org>, relay=mx[private/dovecot-lmtp], dsn=2.0.0, status=sent (250 Saved)",
			func(e Entry) bool {
				return e.Kind == KindDelivery && e.Time.Equal(time.Date(2024, 9, 29, 11, 0, 6, 5e8, time.UTC))
			}},
		{"reject", "Sep 29 13:00:03 mx postfix/smtpd[1300]: NOQUEUE: reject: RCPT from unknown[192.0.2.66]: 554 5.7.1 <x@y.example>: Relay access denied; from=<spam@bad.example> to=<x@y.example> proto=ESMTP helo=<<script>alert(1)</script>>",
			func(e Entry) bool {
				return e.Kind == KindReject && e.RejectStage == "RCPT" && e.ClientIP == "192.0.2.66" && e.Sender == "spam@bad.example" &&
					e.Recipient == "x@y.example" && e.Helo == "<script>alert(1)</script>" && e.Reply == "554 5.7.1 <x@y.example>: Relay access denied"
			}},
		{"sasl failure", "Sep 29 13:00:04 mx postfix/smtpd[1300]: warning: unknown[192.0.2.99]: SASL LOGIN authentication failed: UGFzc3dvcmQ6",
			func(e Entry) bool {
				return e.Kind == KindSASLFail && e.ClientIP == "192.0.2.99" && e.SASLMethod == "LOGIN" && e.SASLUser == "" && e.Reply == "UGFzc3dvcmQ6"
			}},
		{"sasl failure 3.9", "Sep 29 13:00:04 mx postfix/submission/smtpd[1300]: warning: unknown[192.0.2.98]: SASL PLAIN authentication failed: authentication failure, sasl_username=bob@example.org",
			func(e Entry) bool {
				return e.Kind == KindSASLFail && e.SASLUser == "bob@example.org" && e.Reply == "authentication failure"
			}},
		{"bounce notice", "Sep 29 13:00:02 mx postfix/bounce[1260]: 3F4A21C0D2: sender non-delivery notification: 4B7E11C0D3",
			func(e Entry) bool { return e.Kind == KindBounce && e.ChildQueueID == "4B7E11C0D3" }},
		{"dnsblog", "Sep 29 13:00:09 mx postfix/dnsblog[801]: addr 192.0.2.77 listed by domain zen.spamhaus.org as 127.0.0.4",
			func(e Entry) bool {
				return e.Kind == KindDNSBL && e.ClientIP == "192.0.2.77" && e.DNSBLZone == "zen.spamhaus.org"
			}},
		{"postscreen", "Sep 29 13:00:09 mx postfix/postscreen[800]: CONNECT from [192.0.2.77]:51234 to [198.51.100.7]:25",
			func(e Entry) bool { return e.Kind == KindPostscreen && e.ClientIP == "192.0.2.77" }},
		{"multi-instance", "Sep 29 13:00:14 mx postfix-out/smtp[1254]: A0123456BC: to=<h@example.net>, relay=none, delay=0.5, dsn=4.4.1, status=deferred (connect to example.net[192.0.2.200]:25: Connection refused)",
			func(e Entry) bool { return e.Kind == KindDelivery && e.Status == "deferred" && e.DSN == "4.4.1" }},
		{"connect", "Sep 29 13:00:10 mx postfix/smtpd[1300]: connect from unknown[192.0.2.66]", func(e Entry) bool { return e.Kind == KindOther }},
		{"unknown postfix", "Sep 29 13:00:15 mx postfix/smtpd[1301]: something new", func(e Entry) bool { return e.Kind == KindUnknown }},
		{"other program", "Sep 29 13:00:10 mx dovecot: imap-login: Login", func(e Entry) bool { return e.Kind == KindNotPostfix && !e.Time.IsZero() }},
		{"garbage", "garbage", func(e Entry) bool { return e.Kind == KindNotPostfix && e.Time.IsZero() }},
		{"truncated", "Sep 29 13:00:10 mx postfix/smtpd[13", func(e Entry) bool { return e.Kind == KindNotPostfix }},
		{"bad date", "Sep 39 13:00:10 mx postfix/smtpd[1]: connect from x", func(e Entry) bool { return e.Kind == KindNotPostfix }},
		{"word is not a queue id", "Sep 29 13:00:10 mx postfix/smtpd[1]: warning2: x", func(e Entry) bool { return e.Kind == KindUnknown && e.QueueID == "" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := parseOne(c.line)
			if !c.check(e) {
				t.Errorf("unexpected entry for %q:\n%+v", c.line, e)
			}
		})
	}
}

func TestYearRollsOver(t *testing.T) {
	p := NewParser(Options{Reference: time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC), Location: time.UTC})
	var e Entry
	p.Parse("Dec 31 23:59:59 mx postfix/qmgr[1]: ABCDEF1234: removed", &e)
	if e.Time.Year() != 2024 {
		t.Fatalf("year %d", e.Time.Year())
	}
	p.Parse("Jan  1 00:00:01 mx postfix/qmgr[1]: ABCDEF1234: removed", &e)
	if e.Time.Year() != 2025 || e.Time.Month() != 1 {
		t.Fatalf("after new year: %v", e.Time)
	}
	// A log started in December read in January belongs to last year.
	p = NewParser(Options{Reference: time.Date(2025, 1, 5, 0, 0, 0, 0, time.UTC), Location: time.UTC})
	p.Parse("Dec 30 10:00:00 mx postfix/qmgr[1]: ABCDEF1234: removed", &e)
	if e.Time.Year() != 2024 {
		t.Fatalf("december line read in january: %v", e.Time)
	}
}

// TestGolden parses testdata/sample.log and compares every entry with
// testdata/sample.golden (go test -update rewrites it).
func TestGolden(t *testing.T) {
	f, err := os.Open("testdata/sample.log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := NewParser(Options{Reference: ref, Location: time.UTC})
	var b strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e Entry
		p.Parse(sc.Text(), &e)
		e.Message = ""
		j, err := json.Marshal(struct {
			Kind string
			Entry
		}{e.Kind.String(), e})
		if err != nil {
			t.Fatal(err)
		}
		b.Write(j)
		b.WriteByte('\n')
	}
	got := b.String()
	if *update {
		os.WriteFile("testdata/sample.golden", []byte(got), 0o644)
	}
	want, err := os.ReadFile("testdata/sample.golden")
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range gl {
			if i >= len(wl) || gl[i] != wl[i] {
				t.Fatalf("line %d differs:\n got %s\nwant %s", i+1, gl[i], wl[min(i, len(wl)-1)])
			}
		}
		t.Fatal("golden differs")
	}
}
