package mail

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/alert"
	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/mail/mailgen"
	"github.com/vigie/vigie/internal/vigie"
)

var day0 = time.Date(2024, 9, 2, 0, 0, 0, 0, time.UTC) // a Monday

type collector struct {
	fs      []vigie.Finding
	samples []vigie.Sample
}

func (c *collector) emit(f vigie.Finding) { c.fs = append(c.fs, f) }

func (c *collector) find(rule, subject string) []vigie.Finding {
	var out []vigie.Finding
	for _, f := range c.fs {
		if f.Rule == rule && (subject == "" || f.Subject == subject) {
			out = append(out, f)
		}
	}
	return out
}

func runScenario(t *testing.T, s mailgen.Scenario, cfg config.Mail) (*collector, *Engine) {
	t.Helper()
	var buf bytes.Buffer
	if _, err := s.Write(&buf); err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	e := NewEngine(EngineOptions{Config: cfg, Emit: c.emit, LogQueue: true, Samples: func(s []vigie.Sample) { c.samples = append(c.samples, s...) }})
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		if _, ok := e.Line(sc.Text()); !ok {
			t.Fatalf("line not recognised: %q", sc.Text())
		}
	}
	return c, e
}

func defaults() config.Mail { return config.Default().Mail }

// A weekly newsletter alerts the first time; an admin marks that alert
// legitimate, and from then on it is habit: no alert the next weeks. Normal
// accounts never alert.
func TestNewsletterIsHabitOnceMarkedLegitimate(t *testing.T) {
	s := mailgen.Scenario{Start: day0, End: day0.Add(29 * 24 * time.Hour), Seed: 1, Users: 15, PerUserPerDay: 30,
		Newsletter: "news@example.org", NewsletterDay: time.Monday, NewsletterCount: 400}
	var buf bytes.Buffer
	if _, err := s.Write(&buf); err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	e := NewEngine(EngineOptions{Config: defaults(), Emit: c.emit})
	marked := 0
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		e.Line(sc.Text())
		// The admin marks the first alert legitimate once it resolved.
		if n := len(c.fs); marked == 0 && n > 0 && c.fs[n-1].Resolved && c.fs[n-1].Subject == "news@example.org" {
			first := c.find(string(RuleAccountVolume), "news@example.org")[0]
			if got := e.MarkLegitimate("news@example.org", first.Time, c.fs[n-1].Time); got != 1 {
				t.Fatalf("MarkLegitimate learned %d periods, want 1", got)
			}
			marked = n
		}
	}
	if marked == 0 {
		t.Fatalf("the first newsletter did not alert and resolve: %+v", c.fs)
	}
	for _, f := range c.fs[marked:] {
		t.Errorf("alert after the newsletter was marked legitimate: %s %s %s", f.Time, f.Subject, f.Summary)
	}
	for _, f := range c.fs[:marked] {
		if f.Subject != "news@example.org" {
			t.Errorf("normal traffic alerted: %+v", f)
		}
	}
	// The habit survives a restart.
	h := e.Habits()
	e2 := NewEngine(EngineOptions{Config: defaults()})
	e2.RestoreHabits(h)
	if got, _ := e2.volume.habitOf(e2.volume.subjects["news@example.org"], day0.Add(29*24*time.Hour).Unix()/86400); got[mMsgs][wHour] < 400 {
		t.Errorf("restored habit %v", got)
	}
}

// Without the admin's word, an alert's period is never learned: the same
// newsletter alerts every week.
func TestAlertPeriodIsNotLearnedUnlessLegitimate(t *testing.T) {
	s := mailgen.Scenario{Start: day0, End: day0.Add(15 * 24 * time.Hour), Seed: 1, Users: 15, PerUserPerDay: 30,
		Newsletter: "news@example.org", NewsletterDay: time.Monday, NewsletterCount: 400}
	c, _ := runScenario(t, s, defaults())
	weeks := map[int]bool{}
	for _, f := range c.find(string(RuleAccountVolume), "news@example.org") {
		if !f.Resolved {
			weeks[int(f.Time.Sub(day0)/(7*24*time.Hour))] = true
		}
	}
	if !weeks[0] || !weeks[1] || !weeks[2] {
		t.Errorf("weeks with an alert: %v, want 0, 1 and 2", weeks)
	}
}

// A web application injecting mail through sendmail is counted under its
// uid; the alert resolves when it stops.
func TestLocalUIDBurstAndResolution(t *testing.T) {
	start := day0.Add(9 * time.Hour)
	s := mailgen.Scenario{Start: day0, End: day0.Add(24 * time.Hour), Seed: 2, Users: 10, PerUserPerDay: 20,
		Bursts: []mailgen.Burst{{UID: 33, Start: start, Every: 2 * time.Second, Count: 900}}}
	c, _ := runScenario(t, s, defaults())
	fs := c.find(string(RuleAccountVolume), "uid:33")
	if len(fs) < 2 {
		t.Fatalf("findings: %+v", c.fs)
	}
	if d := fs[0].Time.Sub(start); d < 0 || d > 2*time.Minute || fs[0].Group != alert.AccountGroup("uid:33") {
		t.Errorf("first finding %+v", fs[0])
	}
	// The report reads what the account sent since its alert began: at
	// first the window that tripped it, then growing with every message.
	if fs[0].Evidence["messages"] != fs[0].Evidence["messages_minute"] {
		t.Errorf("first finding: messages %q, want the minute's %q", fs[0].Evidence["messages"], fs[0].Evidence["messages_minute"])
	}
	if first, later := atoi(t, fs[0].Evidence["messages"]), atoi(t, fs[len(fs)-2].Evidence["messages"]); len(fs) > 2 && later <= first {
		t.Errorf("messages since the alert began went from %d to %d", first, later)
	}
	last := fs[len(fs)-1]
	end := start.Add(900 * 2 * time.Second)
	if !last.Resolved || last.Time.Before(end) || last.Time.After(end.Add(20*time.Minute)) {
		t.Errorf("last finding %+v (burst ended %s)", last, end)
	}
	if comp, ok := IsCompromise(fs[0]); !ok || comp.UID != 33 || comp.SASLUser != "" {
		t.Errorf("IsCompromise = %+v, %v", comp, ok)
	}
	for _, f := range c.fs {
		if f.Subject != "uid:33" {
			t.Errorf("other finding %+v", f)
		}
	}
	// Per-minute rates and the queue are stored as time series.
	var uidMsgs, queue float64
	for _, s := range c.samples {
		if s.Series == string(SeriesAccountMessages) && s.Subject == "uid:33" {
			uidMsgs += s.Value
		}
		if s.Series == string(SeriesQueue) && s.Subject == "total" {
			queue++
		}
	}
	if uidMsgs != 900 || queue < 150 {
		t.Errorf("samples: uid:33 sent %v, %v queue points", uidMsgs, queue)
	}
}

func line(t time.Time, prog, format string, args ...any) string {
	return t.UTC().Format(time.RFC3339) + " mx postfix/" + prog + "[1]: " + fmt.Sprintf(format, args...)
}

func TestManyIPsBruteForceBlocklistStorm(t *testing.T) {
	c := &collector{}
	cfg := defaults()
	cfg.Storm.Failures = 20
	e := NewEngine(EngineOptions{Config: cfg, Emit: c.emit})
	t0 := day0.Add(10 * time.Hour)
	for i := range 6 { // six networks in six different places, none known to carol
		e.Line(line(t0.Add(time.Duration(i)*time.Minute), "submission/smtpd", "%010X: client=unknown[%d.51.100.%d], sasl_method=PLAIN, sasl_username=carol", 0xA0000+i, 20+i*17, i+1))
	}
	// dave is a real account (it sent mail); "admin" is not: guesses at it
	// count per address and network only.
	e.Line(line(t0.Add(-time.Hour), "submission/smtpd", "%010X: client=unknown[192.0.2.99], sasl_method=PLAIN, sasl_username=dave@example.org", 0xD0000))
	for i := range 12 {
		e.Line(line(t0.Add(time.Duration(i)*time.Second), "smtpd", "warning: unknown[192.0.2.50]: SASL LOGIN authentication failed: authentication failure, sasl_username=dave@example.org"))
		e.Line(line(t0.Add(time.Duration(i)*time.Second), "smtpd", "warning: unknown[192.0.2.51]: SASL LOGIN authentication failed: authentication failure, sasl_username=admin"))
	}
	for i := range 30 {
		e.Line(line(t0.Add(time.Duration(i)*time.Second), "smtp", "%010X: to=<x%d@example.com>, relay=mx.example.com[192.0.2.10]:25, dsn=5.7.1, status=bounced (host mx.example.com[192.0.2.10] said: 554 5.7.1 Service unavailable; Client host [198.51.100.7] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/198.51.100.7 (in reply to RCPT TO command))", 0xB0000+i, i))
	}
	if fs := c.find(string(RuleBruteForceUser), "admin"); len(fs) != 0 {
		t.Errorf("a user name that never logged in alerted: %+v", fs)
	}
	want := map[string]string{string(RuleSASLManyIPs): "carol", string(RuleBruteForceIP): "192.0.2.50", string(RuleBruteForceUser): "dave@example.org", string(RuleBruteForceNet): "192.0.2.0/24",
		string(RuleRemoteBlocklist): "198.51.100.7", string(RuleDeliveryStorm): "bounced"}
	for rule, subject := range want {
		if len(c.find(rule, subject)) == 0 {
			t.Errorf("no %s finding for %s: %+v", rule, subject, c.fs)
		}
	}
	bl := c.find(string(RuleRemoteBlocklist), "")
	if len(bl) != 1 || bl[0].Key != vigie.BlocklistKey("198.51.100.7", "zen.spamhaus.org") {
		t.Errorf("blocklist findings (want one, rate-limited): %+v", bl)
	}
	// Two hours later everything but the blocklist has resolved.
	e.Tick(t0.Add(2 * time.Hour))
	for rule, subject := range want {
		fs := c.find(rule, subject)
		if rule != string(RuleRemoteBlocklist) && !fs[len(fs)-1].Resolved {
			t.Errorf("%s %s not resolved", rule, subject)
		}
	}
}

func TestParseListing(t *testing.T) {
	cases := []struct {
		reply string
		want  Listing
		ok    bool
	}{
		{"host outlook-com.olc.protection.outlook.com[52.101.8.33] said: 550 5.7.1 Unfortunately, messages from [198.51.100.7] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150). (in reply to MAIL FROM command)",
			Listing{"198.51.100.7", "microsoft", "S3150"}, true},
		{"host x[1.2.3.4] said: 550 5.7.1 Unfortunately, messages from [2001:db8::7] weren't sent. ... block list (S3140).", Listing{"2001:db8::7", "microsoft", "S3140"}, true},
		{"host x[52.101.8.34] said: 550 5.7.606 Access denied, banned sending IP [198.51.100.7]. To request removal", Listing{"198.51.100.7", "microsoft", "banned sending IP"}, true},
		{"host mx[192.0.2.10] said: 554 5.7.1 Service unavailable; Client host [198.51.100.7] blocked using zen.spamhaus.org; https://x", Listing{"198.51.100.7", "zen.spamhaus.org", "blocked using zen.spamhaus.org"}, true},
		{"host mx[192.0.2.10] said: 550 blocked using Spamhaus. To request removal", Listing{"server", "spamhaus", "blocked using spamhaus"}, true},
		{"host mta7.am0.yahoodns.net[67.195.204.72] said: 421 4.7.0 [TSS04] Messages from 198.51.100.7 temporarily deferred", Listing{"198.51.100.7", "yahoo", "TSS04"}, true},
		{"host mx[192.0.2.10] said: 421 4.7.0 [TS01] Messages from 198.51.100.7 temporarily deferred due to user complaints - 4.16.55.1; see https://help.yahoo.com TSS04 x", Listing{"server", "yahoo", "TSS04"}, true},
		{"connect to mx[192.0.2.10]:25: Connection refused", Listing{}, false},
		{"(S31", Listing{}, false},
	}
	for _, c := range cases {
		got, ok := ParseListing(c.reply)
		if ok != c.ok || ok && got != c.want {
			t.Errorf("%q: got %+v %v, want %+v %v", c.reply, got, ok, c.want, c.ok)
		}
	}
}

func TestQueueSnapshotAndIndex(t *testing.T) {
	c := &collector{}
	cfg := defaults()
	cfg.QueueGrowth.Deferred = 3
	e := NewEngine(EngineOptions{Config: cfg, Emit: c.emit})
	t0 := day0.Add(10 * time.Hour)
	e.Line(line(t0, "submission/smtpd", "ABCDEF0001: client=unknown[198.51.100.1], sasl_method=PLAIN, sasl_username=erin"))
	e.Line(line(t0, "qmgr", "ABCDEF0001: from=<erin@example.org>, size=100, nrcpt=1 (queue active)"))
	e.Line(line(t0, "pickup", "ABCDEF0002: uid=33 from=<www-data>"))
	e.Line(line(t0, "qmgr", "ABCDEF0002: from=<www-data@mx>, size=100, nrcpt=1 (queue active)"))
	q := `{"queue_name": "deferred", "queue_id": "ABCDEF0001", "arrival_time": %d, "message_size": 100, "forced_expire": false, "sender": "erin@example.org", "recipients": [{"address": "x@y", "delay_reason": "connect timed out"}]}
{"queue_name": "deferred", "queue_id": "0123456789", "arrival_time": %d, "message_size": 100, "sender": "old@example.org", "recipients": []}
{"queue_name": "deferred", "queue_id": "0123456788", "arrival_time": %d, "message_size": 100, "sender": "Old@example.org", "recipients": []}
{"queue_name": "active", "queue_id": "ABCDEF0002", "arrival_time": %d, "message_size": 100, "sender": "www-data@mx", "recipients": []}
not json
`
	snap, err := ParseQueue(strings.NewReader(fmt.Sprintf(q, t0.Unix(), t0.Add(-time.Hour).Unix(), t0.Unix(), t0.Unix())), t0.Add(time.Minute), 10)
	if err != nil || snap.Total != 4 || snap.Depth["deferred"] != 3 || snap.Bad != 1 || snap.OldestAge != 61*time.Minute ||
		snap.TopSenders[0] != (SenderCount{"old@example.org", 2}) {
		t.Fatalf("snapshot %+v, %v", snap, err)
	}
	e.Queue(snap)
	if fs := c.find(string(RuleQueueGrowth), "deferred"); len(fs) != 1 || fs[0].Evidence["deferred"] != "3" {
		t.Errorf("queue findings %+v", c.fs)
	}
	x := e.Index()
	if got := x.QueueIDsOfAccount("erin"); len(got) != 1 || got[0] != "ABCDEF0001" {
		t.Errorf("erin: %v", got)
	}
	if got := x.QueueIDsOfUID(33); len(got) != 1 || got[0] != "ABCDEF0002" {
		t.Errorf("uid 33: %v", got)
	}
	if got := x.QueueIDsOfSender("OLD@example.org"); len(got) != 2 {
		t.Errorf("old@: %v", got)
	}
	if o, ok := x.Lookup("ABCDEF0001"); !ok || o.SASLUser != "erin" || o.ClientIP != "198.51.100.1" || !o.Deferred {
		t.Errorf("lookup %+v", o)
	}
	e.Line(line(t0, "submission/smtpd", "ABCDEF0003: client=unknown[198.51.100.1], sasl_method=PLAIN, sasl_username=erin"))
	e.Line(line(t0, "cleanup", "ABCDEF0003: reject: header Subject: spam from unknown[198.51.100.1]; from=<erin@example.org> to=<x@y> proto=ESMTP helo=<h>: 5.7.1 no"))
	e.Line(line(t0.Add(2*time.Minute), "qmgr", "ABCDEF0001: removed"))
	snap.Items = snap.Items[3:]
	e.Queue(snap)
	if x.Len() != 1 || len(x.QueueIDsOfAccount("erin")) != 0 || len(x.QueueIDsOfSender("old@example.org")) != 0 {
		t.Errorf("after removal: %d left", x.Len())
	}
}

// Hostile text in the log does not break the engine and is kept as is.
func TestHostileLines(t *testing.T) {
	c := &collector{}
	e := NewEngine(EngineOptions{Config: defaults(), Emit: c.emit})
	t0 := day0.Add(10 * time.Hour)
	e.Line(line(t0.Add(-time.Hour), "submission/smtpd", "ABCDEF0009: client=unknown[198.51.100.1], sasl_method=PLAIN, sasl_username=it's&\"me0"))
	for i := range 12 {
		e.Line(line(t0.Add(time.Duration(i)*time.Second), "smtpd", "warning: unknown[192.0.2.1]: SASL LOGIN authentication failed: x, sasl_username=it's&\"me%d", i%1))
	}
	e.Line(strings.Repeat("\x00\xff", 1000))
	// Stamps no log can have (found by fuzzing: a year-1 time broke the windows).
	e2 := NewEngine(EngineOptions{Config: defaults(), LogQueue: true})
	e2.Line("0001-01-01T00:00:01Z mx postfix/submission/smtpd[1]: ABCDEF1234: client=unknown[1.2.3.4], sasl_method=PLAIN, sasl_username=a")
	e2.Line("0001-01-01T00:00:01Z mx postfix/qmgr[1]: ABCDEF1234: from=<a>, size=1, nrcpt=1 (queue active)")
	e2.Line("9999-01-01T00:00:01Z mx postfix/qmgr[1]: ABCDEF1234: removed")
	e2.Tick(time.Time{})
	e.Line(line(t0, "smtpd", "NOQUEUE: reject: RCPT from x[1]: 554; from=<\"><script>> to=<a> helo=<<img src=x>>"))
	fs := c.find(string(RuleBruteForceUser), "it's&\"me0")
	if len(fs) != 1 {
		t.Errorf("findings %+v", c.fs)
	}
}

func TestNewFollowsTheSwitch(t *testing.T) {
	dir := t.TempDir()
	cfg := defaults()
	cfg.LogFile = filepath.Join(dir, "absent.log")
	cfg.Journalctl = filepath.Join(dir, "no-journalctl")
	for _, c := range []struct {
		enabled config.Switch
		source  string
		exists  bool
		want    string // "none", "watch", "error"
	}{
		{config.SwitchAuto, "auto", false, "none"},
		{config.SwitchAuto, "auto", true, "watch"},
		{config.SwitchAuto, "file", false, "none"},
		{config.SwitchOff, "auto", true, "none"},
		{config.SwitchOn, "auto", false, "error"},
		{config.SwitchOn, "file", false, "watch"}, // waits for the file
	} {
		cfg.Enabled, cfg.Source = c.enabled, c.source
		if c.exists {
			os.WriteFile(cfg.LogFile, nil, 0o644)
		} else {
			os.Remove(cfg.LogFile)
		}
		w, err := New(context.Background(), Options{Config: cfg})
		got := "none"
		if err != nil {
			got = "error"
		} else if w != nil {
			got = "watch"
		}
		if got != c.want {
			t.Errorf("%+v: got %s (%v)", c, got, err)
		}
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%q is not a number", s)
	}
	return n
}

// A remote refusal counts only when the address it names is ours, or when
// it names none (then it is about the server that delivered: us).
func TestRemoteRefusalAboutUsOnly(t *testing.T) {
	ours := netip.MustParseAddr("198.51.100.7")
	c := &collector{}
	e := NewEngine(EngineOptions{Config: defaults(), Emit: c.emit, Ours: func(a netip.Addr) bool { return a == ours }})
	t0 := day0.Add(10 * time.Hour)
	refuse := func(i int, ip string) {
		e.Line(line(t0.Add(time.Duration(i)*time.Second), "smtp", "%010X: to=<x%d@example.com>, relay=mx.example.com[192.0.2.10]:25, dsn=5.7.1, status=bounced (host mx.example.com[192.0.2.10] said: 554 5.7.1 Service unavailable; Client host [%s] blocked using zen.spamhaus.org (in reply to RCPT TO command))", 0xB0000+i, i, ip))
	}
	refuse(1, "203.0.113.9") // a forwarded message's origin, not us
	if n := len(c.find(string(RuleRemoteBlocklist), "")); n != 0 {
		t.Fatalf("a refusal naming another address alerted: %+v", c.fs)
	}
	refuse(2, "198.51.100.7")
	e.Line(line(t0.Add(3*time.Second), "smtp", "%010X: to=<y@outlook.com>, relay=outlook-com.olc.protection.outlook.com[52.101.8.33]:25, dsn=5.7.1, status=bounced (host outlook-com.olc.protection.outlook.com[52.101.8.33] said: 550 5.7.1 Unfortunately, messages from our network weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150). (in reply to MAIL FROM command))", 0xC0000))
	got := map[string]bool{}
	for _, f := range c.find(string(RuleRemoteBlocklist), "") {
		got[f.Subject] = true
	}
	if len(got) != 2 || !got["198.51.100.7"] || !got["server"] {
		t.Errorf("refusals about us: %v", got)
	}
}
