// Package mailgen writes Postfix logs in the real format, for tests and
// benchmarks: normal traffic from many accounts, inbound mail, a weekly
// newsletter, and the attacks vigie must see (a stolen password sending
// one mail a second, a web application injecting mail through sendmail,
// SASL brute force, blocklist bounces). The output is deterministic for a
// given seed.
package mailgen

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"time"
)

// Burst is one sender sending Count messages at a steady pace.
type Burst struct {
	User  string        // SASL user; empty with UID set for local mail
	UID   int           // used when User is empty
	Start time.Time     // first message
	Every time.Duration // pace
	Count int
	// Rcpts per message (default 1); Domains spreads recipients over this
	// many domains (default 1000, spam-like).
	Rcpts   int
	Domains int
	// Blocked makes deliveries to outlook.com bounce with Microsoft's S3150.
	Blocked bool
	// Deferred sends a third of the recipients to yahoo.com, which defers
	// them ("421 4.7.0 [TSS04] ... temporarily deferred due to unexpected
	// volume"): those messages stay in the queue, which climbs for as long
	// as the burst lasts, as the club1 admins saw it.
	Deferred bool
}

// Scenario is a log to write.
type Scenario struct {
	Start, End time.Time
	Seed       uint64
	Host       string // default mx
	// Classic writes "Sep 29 13:00:01" stamps; otherwise RFC 3339 with a
	// zone (UTC).
	Classic bool
	// Users normal accounts (user01@example.org ...), each sending about
	// PerUserPerDay messages between 08:00 and 20:00, at most a few a minute.
	Users         int
	PerUserPerDay int
	// InboundPerHour messages from the outside to local mailboxes.
	InboundPerHour int
	// Newsletter: the account sends NewsletterCount messages, one every
	// 2 s, every week on NewsletterDay at 10:00. Empty: none.
	Newsletter      string
	NewsletterDay   time.Weekday
	NewsletterCount int
	Bursts          []Burst
	// FailuresFrom: SASL failures, one every FailEvery from FailIP for
	// FailUser, starting at FailStart, FailCount times.
	FailIP    string
	FailUser  string
	FailStart time.Time
	FailEvery time.Duration
	FailCount int
}

type event struct {
	t    time.Time
	kind int
	user string
	uid  int
	ip   string
	rcpt []string
	blk  bool
	dfr  bool
}

const (
	evSubmit = iota
	evLocal
	evInbound
	evFail
)

// Write writes the scenario's log to w and returns the number of lines.
func (s Scenario) Write(w io.Writer) (int, error) {
	rng := rand.New(rand.NewPCG(s.Seed, s.Seed^0x9e3779b97f4a7c15))
	if s.Host == "" {
		s.Host = "mx"
	}
	var evs []event
	domains := []string{"gmail.com", "outlook.com", "yahoo.fr", "orange.fr", "free.fr", "laposte.net", "example.net", "proton.me"}
	for day := s.Start.Truncate(24 * time.Hour); day.Before(s.End); day = day.Add(24 * time.Hour) {
		for u := 1; u <= s.Users; u++ {
			user := fmt.Sprintf("user%02d@example.org", u)
			n := s.PerUserPerDay/2 + rng.IntN(s.PerUserPerDay+1)
			for range n {
				t := day.Add(8*time.Hour + time.Duration(rng.Int64N(int64(12*time.Hour))))
				rc := 1 + rng.IntN(3)
				var rcpts []string
				for r := range rc {
					rcpts = append(rcpts, fmt.Sprintf("friend%d@%s", rng.IntN(50)+r, domains[rng.IntN(len(domains))]))
				}
				evs = append(evs, event{t: t, kind: evSubmit, user: user, ip: fmt.Sprintf("203.0.113.%d", u), rcpt: rcpts})
			}
		}
		for h := range 24 {
			for range s.InboundPerHour {
				t := day.Add(time.Duration(h)*time.Hour + time.Duration(rng.Int64N(int64(time.Hour))))
				evs = append(evs, event{t: t, kind: evInbound, ip: fmt.Sprintf("192.0.2.%d", 1+rng.IntN(250)),
					rcpt: []string{fmt.Sprintf("user%02d@example.org", 1+rng.IntN(max(s.Users, 1)))}})
			}
		}
		if s.Newsletter != "" && day.Weekday() == s.NewsletterDay {
			for i := range s.NewsletterCount {
				t := day.Add(10*time.Hour + time.Duration(i)*2*time.Second)
				evs = append(evs, event{t: t, kind: evSubmit, user: s.Newsletter, ip: "203.0.113.200",
					rcpt: []string{fmt.Sprintf("member%d@%s", i, domains[i%len(domains)])}})
			}
		}
	}
	for _, b := range s.Bursts {
		nd := b.Domains
		if nd <= 0 {
			nd = 1000
		}
		nr := max(b.Rcpts, 1)
		for i := range b.Count {
			t := b.Start.Add(time.Duration(i) * b.Every)
			if !t.Before(s.End) {
				break
			}
			var rcpts []string
			for r := range nr {
				d := fmt.Sprintf("spam%d.example", rng.IntN(nd))
				if b.Blocked && (i+r)%4 == 0 {
					d = "outlook.com"
				} else if b.Deferred && (i+r)%3 == 1 {
					d = "yahoo.com"
				}
				rcpts = append(rcpts, fmt.Sprintf("victim%d@%s", rng.IntN(100000), d))
			}
			ev := event{t: t, kind: evSubmit, user: b.User, ip: "198.51.100.66", rcpt: rcpts, blk: b.Blocked, dfr: b.Deferred}
			if b.User == "" {
				ev.kind, ev.uid = evLocal, b.UID
			}
			evs = append(evs, ev)
		}
	}
	for i := range s.FailCount {
		evs = append(evs, event{t: s.FailStart.Add(time.Duration(i) * s.FailEvery), kind: evFail, ip: s.FailIP, user: s.FailUser})
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].t.Before(evs[j].t) })

	bw := bufio.NewWriterSize(w, 1<<16)
	g := &writer{w: bw, s: &s, rng: rng}
	for _, ev := range evs {
		if ev.t.Before(s.Start) || !ev.t.Before(s.End) {
			continue
		}
		g.event(ev)
	}
	return g.lines, bw.Flush()
}

type writer struct {
	w     *bufio.Writer
	s     *Scenario
	rng   *rand.Rand
	seq   uint32
	lines int
}

func (g *writer) line(t time.Time, prog string, pid int, format string, args ...any) {
	if g.s.Classic {
		g.w.WriteString(t.Format(time.Stamp))
	} else {
		g.w.WriteString(t.UTC().Format("2006-01-02T15:04:05.000000Z07:00"))
	}
	fmt.Fprintf(g.w, " %s postfix/%s[%d]: ", g.s.Host, prog, pid)
	fmt.Fprintf(g.w, format, args...)
	g.w.WriteByte('\n')
	g.lines++
}

func (g *writer) qid() string {
	g.seq++
	return fmt.Sprintf("%05X%05X", g.rng.Uint32()&0xFFFFF, g.seq&0xFFFFF)
}

func (g *writer) event(ev event) {
	t := ev.t
	q := g.qid()
	smtpdPID := 10000 + g.rng.IntN(5000)
	switch ev.kind {
	case evFail:
		g.line(t, "submission/smtpd", smtpdPID, "connect from unknown[%s]", ev.ip)
		if ev.user != "" {
			g.line(t, "submission/smtpd", smtpdPID, "warning: unknown[%s]: SASL LOGIN authentication failed: authentication failure, sasl_username=%s", ev.ip, ev.user)
		} else {
			g.line(t, "submission/smtpd", smtpdPID, "warning: unknown[%s]: SASL LOGIN authentication failed: UGFzc3dvcmQ6", ev.ip)
		}
		g.line(t, "submission/smtpd", smtpdPID, "disconnect from unknown[%s] ehlo=1 auth=0/1 commands=1/2", ev.ip)
		return
	case evSubmit:
		g.line(t, "submission/smtpd", smtpdPID, "connect from unknown[%s]", ev.ip)
		g.line(t, "submission/smtpd", smtpdPID, "%s: client=unknown[%s], sasl_method=PLAIN, sasl_username=%s", q, ev.ip, ev.user)
	case evLocal:
		g.line(t, "pickup", 900, "%s: uid=%d from=<www-data>", q, ev.uid)
	case evInbound:
		g.line(t, "smtpd", smtpdPID, "connect from mail.remote.example[%s]", ev.ip)
		g.line(t, "smtpd", smtpdPID, "%s: client=mail.remote.example[%s]", q, ev.ip)
	}
	sender := ev.user
	if ev.kind == evLocal {
		sender = "www-data@mx.example.org"
	} else if ev.kind == evInbound {
		sender = fmt.Sprintf("someone%d@remote.example", g.rng.IntN(1000))
	}
	g.line(t, "cleanup", 901, "%s: message-id=<%s@mx.example.org>", q, q)
	g.line(t, "qmgr", 902, "%s: from=<%s>, size=%d, nrcpt=%d (queue active)", q, sender, 1000+g.rng.IntN(20000), len(ev.rcpt))
	if ev.kind == evSubmit || ev.kind == evInbound {
		g.line(t, smtpdProg(ev.kind), smtpdPID, "disconnect from unknown[%s] ehlo=1 auth=1 mail=1 rcpt=%d data=1 quit=1 commands=6", ev.ip, len(ev.rcpt))
	}
	d := t.Add(time.Duration(200+g.rng.IntN(800)) * time.Millisecond)
	stays := false // a deferred recipient keeps the message queued
	for _, r := range ev.rcpt {
		switch {
		case ev.kind == evInbound:
			g.line(d, "lmtp", 903, "%s: to=<%s>, relay=mx.example.org[private/dovecot-lmtp], delay=0.3, delays=0.1/0/0.1/0.1, dsn=2.0.0, status=sent (250 2.0.0 <%s> Saved)", q, r, r)
		case ev.dfr && hasDomain(r, "yahoo.com"):
			stays = true
			g.line(d, "smtp", 904, "%s: to=<%s>, relay=mta7.am0.yahoodns.net[67.195.204.72]:25, delay=1.2, delays=0.1/0/0.6/0.5, dsn=4.7.0, status=deferred (host mta7.am0.yahoodns.net[67.195.204.72] said: 421 4.7.0 [TSS04] Messages from 198.51.100.7 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes (in reply to MAIL FROM command))", q, r)
		case ev.blk && hasDomain(r, "outlook.com"):
			g.line(d, "smtp", 904, "%s: to=<%s>, relay=outlook-com.olc.protection.outlook.com[52.101.8.33]:25, delay=1.1, delays=0.1/0/0.5/0.5, dsn=5.7.1, status=bounced (host outlook-com.olc.protection.outlook.com[52.101.8.33] said: 550 5.7.1 Unfortunately, messages from [198.51.100.7] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150). You can also refer your provider to http://mail.live.com/mail/troubleshooting.aspx#errors. (in reply to MAIL FROM command))", q, r)
		case g.rng.IntN(50) == 0:
			g.line(d, "smtp", 904, "%s: to=<%s>, relay=none, delay=30, delays=0/0/30/0, dsn=4.4.1, status=deferred (connect to mx.%s[192.0.2.200]:25: Connection timed out)", q, r, domainOf(r))
		default:
			g.line(d, "smtp", 904, "%s: to=<%s>, relay=mx.%s[192.0.2.10]:25, delay=0.9, delays=0.1/0/0.3/0.5, dsn=2.0.0, status=sent (250 2.0.0 OK queued as %s)", q, r, domainOf(r), q)
		}
	}
	if !stays {
		g.line(d, "qmgr", 902, "%s: removed", q)
	}
}

func smtpdProg(kind int) string {
	if kind == evSubmit {
		return "submission/smtpd"
	}
	return "smtpd"
}

func domainOf(addr string) string {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == '@' {
			return addr[i+1:]
		}
	}
	return addr
}

func hasDomain(addr, d string) bool { return domainOf(addr) == d }
