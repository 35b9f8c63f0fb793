package mail

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/alert"
	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/store/sqlite"
	"github.com/vigie/vigie/internal/testutil/postfixtest"
	"github.com/vigie/vigie/internal/vigie"
)

// A real Postfix lab for the subject tests: smtpd trusts loopback
// (mynetworks) and lets the test set the client address it logs with
// XCLIENT, so that a member's phone can "come from" a carrier NAT and an
// IPv6 /64 while the test stays on 127.0.0.1.
func startSubjectsLab(t *testing.T, users map[string]string) *postfixtest.Lab {
	t.Helper()
	return postfixtest.Start(t, postfixtest.Options{
		Users:      users,
		Submission: true,
		Main: []string{
			"mynetworks = 127.0.0.0/8",
			"smtpd_authorized_xclient_hosts = 127.0.0.0/8",
			"inet_protocols = all", // XCLIENT takes IPv6 addresses only then; smtpd still listens on 127.0.0.1 only
			"smtpd_sasl_auth_enable = yes",
			"smtpd_recipient_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination",
			"smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination",
			"smtpd_client_connection_rate_limit = 0",
			"smtpd_client_message_rate_limit = 0",
		},
	})
}

// smtpSession is a raw SMTP session (net/smtp knows no XCLIENT).
type smtpSession struct {
	t *testing.T
	c *textproto.Conn
}

func dialSMTP(t *testing.T, port int) *smtpSession {
	t.Helper()
	nc, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpSession{t: t, c: textproto.NewConn(nc)}
	s.expect(220, "")
	s.cmd(250, "EHLO client.example")
	return s
}

func (s *smtpSession) expect(code int, what string) string {
	s.t.Helper()
	_, msg, err := s.c.ReadResponse(code)
	if err != nil {
		s.t.Fatalf("%s: %v", what, err)
	}
	return msg
}

func (s *smtpSession) cmd(code int, format string, args ...any) string {
	s.t.Helper()
	if err := s.c.PrintfLine(format, args...); err != nil {
		s.t.Fatal(err)
	}
	return s.expect(code, fmt.Sprintf(format, args...))
}

// xclient makes Postfix log the session as coming from addr.
func (s *smtpSession) xclient(addr string) {
	s.t.Helper()
	a := addr
	if strings.Contains(a, ":") {
		a = "IPv6:" + a
	}
	s.cmd(220, "XCLIENT ADDR=%s NAME=[UNAVAILABLE]", a)
	s.cmd(250, "EHLO client.example")
}

func (s *smtpSession) auth(user, pass string) {
	s.t.Helper()
	s.cmd(235, "AUTH PLAIN %s", base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+pass)))
}

func (s *smtpSession) send(from string, to ...string) {
	s.t.Helper()
	s.cmd(250, "MAIL FROM:<%s>", from)
	for _, r := range to {
		s.cmd(250, "RCPT TO:<%s>", r)
	}
	s.cmd(354, "DATA")
	w := s.c.DotWriter()
	fmt.Fprintf(w, "From: %s\r\nSubject: test\r\n\r\nhello\r\n", from)
	w.Close()
	s.expect(250, "end of data")
}

func (s *smtpSession) quit() { s.c.PrintfLine("QUIT"); s.c.Close() }

type mailLab struct {
	lab  *postfixtest.Lab
	db   store.Store
	pipe *alert.Pipeline
	w    *Watch
	stop func()
}

func startWatchOnLab(t *testing.T, lab *postfixtest.Lab) *mailLab {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "v.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pipe := alert.New(alert.Options{Store: db, ResolveAfter: time.Hour})
	cfg := config.Default().Mail
	cfg.Source, cfg.LogFile, cfg.PollInterval = "file", lab.Log, 50*time.Millisecond
	cfg.Queue.Enabled = config.SwitchOff
	w, err := New(ctx, Options{Config: cfg, Store: db, Sink: pipe, FromStart: true})
	if err != nil || w == nil {
		t.Fatalf("New: %v %v", w, err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	m := &mailLab{lab: lab, db: db, pipe: pipe, w: w}
	m.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		db.Close()
	}
	t.Cleanup(func() {
		if m.stop != nil {
			m.stop()
		}
	})
	return m
}

func (m *mailLab) alerts(t *testing.T) []vigie.Alert {
	t.Helper()
	as, err := m.db.ListAlerts(context.Background(), store.AlertQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return as
}

// caughtUp waits until the watch has read the whole log.
func (m *mailLab) caughtUp(t *testing.T) {
	t.Helper()
	fi, err := os.Stat(m.lab.Log)
	if err != nil {
		t.Fatal(err)
	}
	waitOffset(t, m.db, fi.Size())
}

// A member whose phone moves inside its carrier's NAT pool (3 addresses
// of one /16) and through IPv6 privacy addresses (6 of one /64) raises
// nothing; the same password used from six places at once is critical.
func TestPostfixMemberOnCGNATAndIPv6RaisesNothing(t *testing.T) {
	users := map[string]string{"member@example.org": "m-pw", "victim@example.org": "v-pw"}
	lab := startSubjectsLab(t, users)
	m := startWatchOnLab(t, lab)
	addrs := []string{"2001:db8:4a:17::1f3", "2001:db8:4a:17:5c1e:9a2:11:7", "2001:db8:4a:17:e0:41ff:fe2a:9",
		"2001:db8:4a:17:8d3:2::c", "2001:db8:4a:17:ffff:1:2:3", "2001:db8:4a:17:a:b:c:d",
		"100.70.3.18", "100.70.129.204", "100.70.250.7"}
	for i, a := range addrs {
		s := dialSMTP(t, lab.SubmissionPort)
		s.xclient(a)
		s.auth("member@example.org", "m-pw")
		s.send("member@example.org", fmt.Sprintf("friend%d@dest%d.example", i, i%3))
		s.quit()
	}
	m.caughtUp(t)
	time.Sleep(300 * time.Millisecond)
	for _, a := range m.alerts(t) {
		t.Errorf("the member raised %s/%s %s: %s", a.Watch, a.Rule, a.Subject, a.Summary)
	}
	// The control: a stolen password used from six places.
	for i, a := range []string{"198.51.100.9", "203.0.113.77", "192.0.2.200", "45.33.12.9", "2001:db8:ffff:1::2", "91.200.12.5"} {
		s := dialSMTP(t, lab.SubmissionPort)
		s.xclient(a)
		s.auth("victim@example.org", "v-pw")
		s.send("victim@example.org", fmt.Sprintf("x%d@spam.example", i))
		s.quit()
	}
	postfixtest.WaitFor(t, 20*time.Second, "the stolen password's alert", func() (bool, string) {
		for _, a := range m.alerts(t) {
			if a.Rule == string(RuleSASLManyIPs) && a.Subject == "victim@example.org" && a.Severity == vigie.SeverityCritical {
				return true, ""
			}
		}
		return false, fmt.Sprint(m.alerts(t))
	})
	for _, a := range m.alerts(t) {
		if a.Subject == "member@example.org" {
			t.Errorf("the member raised %s: %s", a.Rule, a.Summary)
		}
	}
}

// A PHP application sending through unauthenticated local SMTP, one mail a
// second, each with a forged sender: alerted within 60 s, named by its
// client address, the forged sender domains as evidence.
func TestPostfixLocalSMTPClientForgedSenders(t *testing.T) {
	lab := startSubjectsLab(t, map[string]string{"member@example.org": "m-pw"})
	m := startWatchOnLab(t, lab)
	start := time.Now()
	var first time.Time
	for i := 0; i < 90 && first.IsZero(); i++ {
		s := dialSMTP(t, lab.SMTPPort)
		s.send(fmt.Sprintf("noreply%d@forged%d.example", i, i%7), fmt.Sprintf("target%d@victims%d.example", i, i))
		s.quit()
		for _, a := range m.alerts(t) {
			if a.Rule == string(RuleAccountVolume) && a.Subject == "client:127.0.0.1" {
				first = time.Now()
			}
		}
		time.Sleep(time.Until(start.Add(time.Duration(i+1) * time.Second)))
	}
	if first.IsZero() {
		t.Fatalf("no alert after 90 messages: %+v", m.alerts(t))
	}
	if d := first.Sub(start); d > 60*time.Second {
		t.Errorf("alerted after %s", d)
	}
	t.Logf("alerted after %s", first.Sub(start).Round(time.Second))
	for _, a := range m.alerts(t) {
		if a.Rule == string(RuleAccountVolume) && a.Subject == "client:127.0.0.1" {
			if !strings.Contains(a.Evidence["sender_domains"], "forged") || a.Evidence["kind"] != "client" {
				t.Errorf("evidence %v", a.Evidence)
			}
			if c, ok := IsCompromise(vigie.Finding{Watch: a.Watch, Rule: a.Rule, Subject: a.Subject}); !ok || c.Subject.Addr.String() != "127.0.0.1" {
				t.Errorf("IsCompromise %+v %v", c, ok)
			}
		} else if a.Subject != "server" {
			t.Errorf("other alert %s %s", a.Rule, a.Subject)
		}
	}
}

// A newsletter to 40 domains alerts once; the admin resolves its incident
// as legitimate; the same newsletter the next week (the real Postfix
// lines, a week later) raises nothing.
func TestPostfixNewsletterLegitimateThenHabit(t *testing.T) {
	lab := startSubjectsLab(t, map[string]string{"news@example.org": "n-pw", "member@example.org": "m-pw"})
	m := startWatchOnLab(t, lab)
	before, _ := os.Stat(lab.Log)
	s := dialSMTP(t, lab.SubmissionPort)
	s.auth("news@example.org", "n-pw")
	for i := range 240 {
		s.send("news@example.org", fmt.Sprintf("reader%d@list%d.example", i, i%40))
	}
	s.quit()
	m.caughtUp(t)
	var news []vigie.Alert
	postfixtest.WaitFor(t, 20*time.Second, "the newsletter's alert", func() (bool, string) {
		news = nil
		for _, a := range m.alerts(t) {
			if a.Subject == "news@example.org" {
				news = append(news, a)
			}
		}
		return len(news) > 0, fmt.Sprint(m.alerts(t))
	})
	for _, a := range m.alerts(t) {
		if a.Subject != "news@example.org" {
			t.Errorf("other alert %s %s: %s", a.Rule, a.Subject, a.Summary)
		}
	}
	if len(news) != 1 || news[0].Rule != string(RuleAccountVolume) {
		t.Fatalf("newsletter alerts: %+v", news)
	}
	// The admin: resolve as legitimate (what the CLI and the dashboard do).
	ctx := context.Background()
	if subjects, err := MarkIncidentLegitimate(ctx, m.db, news[0].IncidentID, "admin", time.Now()); err != nil || len(subjects) != 1 {
		t.Fatalf("MarkIncidentLegitimate: %v %v", subjects, err)
	}
	if _, err := m.pipe.ResolveIncident(ctx, news[0].IncidentID, "admin", "our newsletter"); err != nil {
		t.Fatal(err)
	}
	count := map[string]int64{}
	for _, a := range m.alerts(t) {
		count[a.Key] = a.Count
	}
	time.Sleep(11 * time.Second) // the watch reads the marks every 10 s

	// Next week: the same Postfix lines, seven days later.
	b, err := os.ReadFile(lab.Log)
	if err != nil {
		t.Fatal(err)
	}
	week := shiftLog(t, string(b[before.Size():]), 7*24*time.Hour)
	f, err := os.OpenFile(lab.Log, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(week)
	f.Close()
	m.caughtUp(t)
	time.Sleep(300 * time.Millisecond)
	for _, a := range m.alerts(t) {
		if a.State != vigie.AlertResolved || a.Count != count[a.Key] {
			t.Errorf("next week: %s %s %s (count %d, was %d): %s", a.State, a.Rule, a.Subject, a.Count, count[a.Key], a.Summary)
		}
	}
}

// shiftLog moves every line's stamp (classic or RFC 3339, as Postfix's
// maillog_file writes them) by d.
func shiftLog(t *testing.T, log string, d time.Duration) string {
	t.Helper()
	var out strings.Builder
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		sp := strings.IndexByte(l, ' ')
		if sp < 0 {
			continue
		}
		if ts, err := time.Parse(time.RFC3339Nano, l[:sp]); err == nil {
			out.WriteString(ts.Add(d).Format("2006-01-02T15:04:05.000000Z07:00") + l[sp:] + "\n")
			continue
		}
		if len(l) > 15 {
			if ts, err := time.ParseInLocation(time.Stamp, l[:15], time.Local); err == nil {
				out.WriteString(ts.Add(d).Format(time.Stamp) + l[15:] + "\n")
				continue
			}
		}
		t.Fatalf("unknown stamp: %q", l)
	}
	return out.String()
}
