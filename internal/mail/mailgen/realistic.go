package mailgen

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/netip"
	"sort"
	"time"
)

// Server is a realistic association's mail server, for the scenario
// suite (`make eval`): members with the habits real members have, and the
// traffic that trips naive rules. Its format follows real Postfix logs
// (checked against the samples in internal/mail/postfixlog/testdata/real):
// long queue ids, classic or RFC 3339 stamps, Postfix 3.7 failure lines
// (no sasl_username) and 3.9 ones, disconnect lines with auth=S/T.
//
// Normal traffic:
//   - Members, each with a home address (its own /24), a phone on one of
//     three carriers' NAT (a new address of the carrier's /16 every few
//     minutes), and IPv6 privacy addresses inside its own /64 (5 to 10 in
//     a busy evening). They send a few messages a day (some more, some
//     none), most through submission, some through the webmail (a SASL
//     user from 127.0.0.1), to their usual correspondents' domains and now
//     and then a new one.
//   - Two newsletters a week, 600 to 1,500 messages to 40+ domains at
//     about 3 a second, with 2-4 % unknown-user bounces.
//   - A contact form through pickup (uid 33), a WordPress site through
//     unauthenticated SMTP on 127.0.0.1 (its notifications).
//   - Inbound mail; spam bots refused by the blocklist; brute-force noise
//     (1-6 tries from each of many addresses, with and without user name).
type Server struct {
	Start, End time.Time
	Seed       uint64
	Members    int  // default 60
	Classic    bool // classic stamps; else RFC 3339
	Postfix39  bool // failure lines carry sasl_username= (3.9+)
	Attack     Attack
}

// AttackKind is one of the attacks the suite measures.
type AttackKind int

const (
	NoAttack     AttackKind = iota
	StolenSpray             // password spraying, then the password used from a botnet at 1 mail/s
	StolenOneIP             // a stolen password used from one foreign address at 1 mail/s
	StolenSlow              // a stolen password sending one mail every 90-150 s
	PickupPHP               // a PHP app through sendmail (pickup, uid 33) with forged senders, 1 mail/s
	LocalSMTPPHP            // a PHP app through unauthenticated SMTP on 127.0.0.1, a forged sender per message, 1 mail/s
)

var attackNames = map[AttackKind]string{NoAttack: "normal traffic", StolenSpray: "stolen password after spraying, botnet, 1 mail/s",
	StolenOneIP: "stolen password, one foreign IP, 1 mail/s", StolenSlow: "slow stolen password, 1 mail / 90-150 s",
	PickupPHP: "PHP app via pickup, forged senders, 1 mail/s", LocalSMTPPHP: "PHP app via local SMTP, forged sender per mail, 1 mail/s"}

func (k AttackKind) String() string { return attackNames[k] }

// Attack says what attack to add and when.
type Attack struct {
	Kind     AttackKind
	Start    time.Time
	Duration time.Duration
}

// Newsletters are the senders of the weekly newsletters: legitimate
// mailings an admin marks legitimate after their first alert.
var Newsletters = []string{"lettre@asso.example", "agenda@asso.example"}

// AttackInfo is what the attack did, for scoring.
type AttackInfo struct {
	Subject  string      // the subject vigie should name ("user07@example.org", "uid:33", "client:127.0.0.1")
	Messages []time.Time // when each attack message was queued
}

type member struct {
	name     string
	home     netip.Addr
	carrier  int
	v6       netip.Prefix
	perDay   float64
	domains  []string
	webmail  bool
	evenings bool
}

var carriers = []netip.Prefix{netip.MustParsePrefix("100.70.0.0/16"), netip.MustParsePrefix("100.81.0.0/16"), netip.MustParsePrefix("172.58.0.0/16")}

var popular = []string{"gmail.com", "orange.fr", "free.fr", "laposte.net", "outlook.fr", "hotmail.com", "yahoo.fr", "sfr.fr",
	"wanadoo.fr", "proton.me", "icloud.com", "gmx.fr", "bbox.fr", "numericable.fr", "aol.com"}

type gen struct {
	s     *Server
	rng   *rand.Rand
	w     *bufio.Writer
	lines int
	seq   uint64
	evs   []gevent
	info  AttackInfo
}

type gevent struct {
	t     time.Time
	write func(t time.Time)
}

func (g *gen) at(t time.Time, f func(t time.Time)) {
	if !t.Before(g.s.Start) && t.Before(g.s.End) {
		g.evs = append(g.evs, gevent{t, f})
	}
}

// Write writes the log and returns what the attack did.
func (s Server) Write(w io.Writer) (AttackInfo, error) {
	if s.Members <= 0 {
		s.Members = 60
	}
	g := &gen{s: &s, rng: rand.New(rand.NewPCG(s.Seed, s.Seed*0x9e3779b97f4a7c15+1)), w: bufio.NewWriterSize(w, 1<<16)}
	members := g.members()
	for day := s.Start.Truncate(24 * time.Hour); day.Before(s.End); day = day.Add(24 * time.Hour) {
		g.day(day, members)
	}
	g.attack(members)
	sort.SliceStable(g.evs, func(i, j int) bool { return g.evs[i].t.Before(g.evs[j].t) })
	for _, e := range g.evs {
		e.write(e.t)
	}
	sort.Slice(g.info.Messages, func(i, j int) bool { return g.info.Messages[i].Before(g.info.Messages[j]) })
	return g.info, g.w.Flush()
}

func (g *gen) members() []*member {
	var out []*member
	for i := range g.s.Members {
		m := &member{name: fmt.Sprintf("member%02d@asso.example", i+1), carrier: g.rng.IntN(len(carriers))}
		m.home = netip.AddrFrom4([4]byte{byte(80 + g.rng.IntN(100)), byte(g.rng.IntN(256)), byte(g.rng.IntN(256)), byte(1 + g.rng.IntN(250))})
		v6 := [16]byte{0x2a, 0x01, 0x0e, byte(g.rng.IntN(256)), byte(g.rng.IntN(256)), byte(g.rng.IntN(256)), byte(g.rng.IntN(256)), byte(g.rng.IntN(256))}
		m.v6 = netip.PrefixFrom(netip.AddrFrom16(v6), 64)
		// A few busy members, most quiet: 0.3 to 12 messages a day.
		m.perDay = 0.3 + 12*g.rng.Float64()*g.rng.Float64()
		for range 3 + g.rng.IntN(8) {
			if g.rng.IntN(3) == 0 {
				m.domains = append(m.domains, fmt.Sprintf("corr%d.example", g.rng.IntN(400)))
			} else {
				m.domains = append(m.domains, popular[g.rng.IntN(len(popular))])
			}
		}
		m.webmail = g.rng.IntN(3) == 0
		m.evenings = g.rng.IntN(2) == 0
		out = append(out, m)
	}
	return out
}

// poisson draws a Poisson count (Knuth's method; a normal approximation
// for large means, where exp(-mean) underflows).
func (g *gen) poisson(mean float64) int {
	if mean > 30 {
		return max(0, int(math.Round(mean+math.Sqrt(mean)*g.rng.NormFloat64())))
	}
	n, p, l := 0, 1.0, math.Exp(-mean)
	for {
		p *= g.rng.Float64()
		if p < l {
			return n
		}
		n++
	}
}

func (g *gen) day(day time.Time, members []*member) {
	wd := day.Weekday()
	weekend := wd == time.Saturday || wd == time.Sunday
	for _, m := range members {
		mean := m.perDay
		if weekend {
			mean /= 2
		}
		if g.rng.IntN(10) == 0 {
			mean *= 3 // a busy day: the treasurer's reminders
		}
		n := g.poisson(mean)
		// Sessions: a member sends in a few sittings, from one device.
		for n > 0 {
			k := min(n, 1+g.rng.IntN(4))
			n -= k
			hour := 8 + g.rng.IntN(11)
			if m.evenings && g.rng.IntN(2) == 0 {
				hour = 18 + g.rng.IntN(5)
			}
			t := day.Add(time.Duration(hour)*time.Hour + time.Duration(g.rng.Int64N(int64(time.Hour))))
			device := g.rng.IntN(4) // 0 home, 1 phone v4, 2 phone v6, 3 webmail
			if device == 3 && !m.webmail {
				device = 0
			}
			for i := range k {
				at := t.Add(time.Duration(i) * time.Duration(30+g.rng.IntN(400)) * time.Second)
				ip := g.memberIP(m, device)
				rc := 1 + g.rng.IntN(3)
				if g.rng.IntN(15) == 0 {
					rc = 5 + g.rng.IntN(15) // a message to the board
				}
				var rcpts []string
				for r := range rc {
					d := m.domains[g.rng.IntN(len(m.domains))]
					if g.rng.IntN(12) == 0 {
						d = fmt.Sprintf("new%d.example", g.rng.IntN(5000))
					}
					rcpts = append(rcpts, fmt.Sprintf("p%d.%d@%s", g.rng.IntN(40), r, d))
				}
				name := m.name
				g.at(at, func(t time.Time) { g.submit(t, name, ip, name, rcpts, device == 3, 0) })
			}
		}
		// Phones poll and log in through the evening from new addresses
		// (IMAP logins are not Postfix's; a phone sending adds one).
	}
	// Two newsletters a week.
	for _, nl := range []struct {
		user string
		wd   time.Weekday
		hour int
	}{{"lettre@asso.example", time.Tuesday, 10}, {"agenda@asso.example", time.Friday, 17}} {
		if wd != nl.wd {
			continue
		}
		count := 600 + g.rng.IntN(900)
		start := day.Add(time.Duration(nl.hour)*time.Hour + time.Duration(g.rng.IntN(1800))*time.Second)
		ip := "198.18.7.20" // the office
		for i := range count {
			at := start.Add(time.Duration(i) * 333 * time.Millisecond)
			d := popular[i%len(popular)]
			if i%3 == 0 {
				d = fmt.Sprintf("adherent%d.example", i%45)
			}
			rcpt := []string{fmt.Sprintf("reader%d@%s", i, d)}
			bounce := g.rng.IntN(100) < 3
			user := nl.user
			g.at(at, func(t time.Time) { g.submit(t, user, ip, user, rcpt, false, boolKind(bounce)) })
		}
	}
	// The contact form (pickup, uid 33) and the site's notifications
	// (unauthenticated SMTP from 127.0.0.1).
	for range g.poisson(8) {
		at := day.Add(time.Duration(g.rng.Int64N(int64(24 * time.Hour))))
		g.at(at, func(t time.Time) {
			g.pickup(t, 33, "www-data", "www-data@mail.asso.example", []string{"contact@asso.example"})
		})
	}
	for range g.poisson(15) {
		at := day.Add(time.Duration(g.rng.Int64N(int64(24 * time.Hour))))
		rc := []string{fmt.Sprintf("member%02d@asso.example", 1+g.rng.IntN(len(members)))}
		g.at(at, func(t time.Time) { g.localSMTP(t, "wordpress@asso.example", rc) })
	}
	// Inbound mail, spam bots, brute-force noise.
	for range g.poisson(400) {
		at := day.Add(time.Duration(g.rng.Int64N(int64(24 * time.Hour))))
		to := members[g.rng.IntN(len(members))].name
		g.at(at, func(t time.Time) { g.inbound(t, to) })
	}
	for range g.poisson(150) {
		at := day.Add(time.Duration(g.rng.Int64N(int64(24 * time.Hour))))
		g.at(at, func(t time.Time) { g.spambot(t) })
	}
	for range g.poisson(40) {
		at := day.Add(time.Duration(g.rng.Int64N(int64(24 * time.Hour))))
		ip := g.randomIP()
		tries := 1 + g.rng.IntN(6)
		// Dictionary attacks mostly try generic names, now and then a
		// member's.
		user := []string{"info@asso.example", "admin@asso.example", "contact@asso.example", "test@asso.example", "webmaster@asso.example", "sales@asso.example", "office@asso.example"}[g.rng.IntN(7)]
		if g.rng.IntN(4) == 0 {
			user = members[g.rng.IntN(len(members))].name
		}
		for i := range tries {
			g.at(at.Add(time.Duration(i)*time.Duration(2+g.rng.IntN(20))*time.Second), func(t time.Time) { g.authFail(t, ip, user) })
		}
	}
}

type deliveryKind int

const (
	dSent deliveryKind = iota
	dUnknownUser
)

func boolKind(b bool) deliveryKind {
	if b {
		return dUnknownUser
	}
	return dSent
}

func (g *gen) memberIP(m *member, device int) string {
	switch device {
	case 1:
		c := carriers[m.carrier].Addr().As4()
		return netip.AddrFrom4([4]byte{c[0], c[1], byte(g.rng.IntN(256)), byte(1 + g.rng.IntN(250))}).String()
	case 2:
		a := m.v6.Addr().As16()
		for i := 8; i < 16; i++ {
			a[i] = byte(g.rng.IntN(256))
		}
		return netip.AddrFrom16(a).String()
	case 3:
		return "127.0.0.1"
	}
	return m.home.String()
}

func (g *gen) randomIP() string {
	for {
		a := netip.AddrFrom4([4]byte{byte(1 + g.rng.IntN(222)), byte(g.rng.IntN(256)), byte(g.rng.IntN(256)), byte(1 + g.rng.IntN(250))})
		if a.IsGlobalUnicast() && !a.IsPrivate() && !a.IsLoopback() {
			return a.String()
		}
	}
}

// qid is a long queue id (enable_long_queue_ids): 6 characters of seconds
// and 4 of microseconds in Postfix's 52-character alphabet, 'z', then the
// inode in the same alphabet. The time part holds a 'z' as often as real
// ones do.
func (g *gen) qid(t time.Time) string {
	const alpha = "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjkmnpqrstvwxyz"
	enc := func(n uint64, width int) []byte {
		b := make([]byte, width)
		for i := width - 1; i >= 0; i-- {
			b[i] = alpha[n%uint64(len(alpha))]
			n /= uint64(len(alpha))
		}
		return b
	}
	g.seq++
	out := append(enc(uint64(t.Unix()), 6), enc(uint64(t.Nanosecond()/1000)+g.seq%1000, 4)...)
	out = append(out, 'z')
	return string(append(out, enc(uint64(g.rng.IntN(1<<22))+1, 4+g.rng.IntN(3))...))
}

func (g *gen) line(t time.Time, prog string, pid int, format string, args ...any) {
	if g.s.Classic {
		g.w.WriteString(t.Format(time.Stamp))
	} else {
		g.w.WriteString(t.UTC().Format("2006-01-02T15:04:05.000000Z07:00"))
	}
	fmt.Fprintf(g.w, " mail postfix/%s[%d]: ", prog, pid)
	fmt.Fprintf(g.w, format, args...)
	g.w.WriteByte('\n')
	g.lines++
}

func clientName(ip string) string {
	if ip == "127.0.0.1" || ip == "::1" {
		return "localhost"
	}
	return "unknown"
}

// submit writes an authenticated submission and its deliveries.
func (g *gen) submit(t time.Time, user, ip, from string, rcpts []string, webmail bool, kind deliveryKind) {
	prog, port := "submission/smtpd", "submission"
	if webmail {
		prog = "smtpd" // the webmail talks to port 25 on 127.0.0.1, authenticated
	}
	_ = port
	pid := 20000 + g.rng.IntN(9000)
	q := g.qid(t)
	g.line(t, prog, pid, "connect from %s[%s]", clientName(ip), ip)
	g.line(t, prog, pid, "%s: client=%s[%s], sasl_method=PLAIN, sasl_username=%s", q, clientName(ip), ip, user)
	g.queue(t, q, from, rcpts, kind)
	g.line(t.Add(50*time.Millisecond), prog, pid, "disconnect from %s[%s] ehlo=2 starttls=1 auth=1 mail=1 rcpt=%d data=1 quit=1 commands=%d", clientName(ip), ip, len(rcpts), 6+len(rcpts))
}

// pickup writes mail a local user injected with sendmail; envFrom is
// the envelope sender (sendmail -f: a PHP app forges any).
func (g *gen) pickup(t time.Time, uid int, login, envFrom string, rcpts []string) {
	q := g.qid(t)
	g.line(t, "pickup", 811, "%s: uid=%d from=<%s>", q, uid, login)
	g.queue(t, q, envFrom, rcpts, dSent)
}

func (g *gen) localSMTP(t time.Time, from string, rcpts []string) {
	pid := 20000 + g.rng.IntN(9000)
	q := g.qid(t)
	g.line(t, "smtpd", pid, "connect from localhost[127.0.0.1]")
	g.line(t, "smtpd", pid, "%s: client=localhost[127.0.0.1]", q)
	g.queue(t, q, from, rcpts, dSent)
	g.line(t.Add(30*time.Millisecond), "smtpd", pid, "disconnect from localhost[127.0.0.1] ehlo=1 mail=1 rcpt=%d data=1 quit=1 commands=%d", len(rcpts), 4+len(rcpts))
}

func (g *gen) queue(t time.Time, q, from string, rcpts []string, kind deliveryKind) {
	g.line(t, "cleanup", 812, "%s: message-id=<%d.%s@asso.example>", q, g.rng.Uint32(), q)
	g.line(t, "qmgr", 813, "%s: from=<%s>, size=%d, nrcpt=%d (queue active)", q, from, 900+g.rng.IntN(40000), len(rcpts))
	d := t.Add(time.Duration(300+g.rng.IntN(1500)) * time.Millisecond)
	for _, r := range rcpts {
		dom := domainOf(r)
		switch {
		case dom == "asso.example":
			g.line(d, "lmtp", 814, "%s: to=<%s>, relay=mail.asso.example[private/dovecot-lmtp], delay=0.4, delays=0.1/0.01/0.1/0.2, dsn=2.0.0, status=sent (250 2.0.0 <%s> Saved)", q, r, r)
		case kind == dUnknownUser:
			g.line(d, "smtp", 815, "%s: to=<%s>, relay=mx.%s[192.0.2.%d]:25, delay=0.8, delays=0.1/0/0.3/0.4, dsn=5.1.1, status=bounced (host mx.%s[192.0.2.%d] said: 550 5.1.1 <%s>: Recipient address rejected: User unknown (in reply to RCPT TO command))", q, r, dom, 10+len(dom), dom, 10+len(dom), r)
		case g.rng.IntN(80) == 0:
			g.line(d, "smtp", 815, "%s: to=<%s>, relay=none, delay=30, delays=0.1/0/30/0, dsn=4.4.1, status=deferred (connect to mx.%s[192.0.2.%d]:25: Connection timed out)", q, r, dom, 10+len(dom))
		default:
			g.line(d, "smtp", 815, "%s: to=<%s>, relay=mx.%s[192.0.2.%d]:25, delay=0.9, delays=0.1/0.01/0.3/0.5, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as %X)", q, r, dom, 10+len(dom), g.rng.Uint32())
		}
	}
	g.line(d, "qmgr", 813, "%s: removed", q)
}

func (g *gen) inbound(t time.Time, to string) {
	pid := 20000 + g.rng.IntN(9000)
	ip := g.randomIP()
	q := g.qid(t)
	g.line(t, "smtpd", pid, "connect from mail-%d.remote.example[%s]", g.rng.IntN(100), ip)
	g.line(t, "smtpd", pid, "%s: client=mail-%d.remote.example[%s]", q, g.rng.IntN(100), ip)
	g.queue(t, q, fmt.Sprintf("sender%d@remote%d.example", g.rng.IntN(500), g.rng.IntN(90)), []string{to}, dSent)
	g.line(t.Add(40*time.Millisecond), "smtpd", pid, "disconnect from mail-%d.remote.example[%s] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5", g.rng.IntN(100), ip)
}

func (g *gen) spambot(t time.Time) {
	pid := 20000 + g.rng.IntN(9000)
	ip := g.randomIP()
	g.line(t, "smtpd", pid, "connect from unknown[%s]", ip)
	g.line(t, "smtpd", pid, "NOQUEUE: reject: RCPT from unknown[%s]: 554 5.7.1 Service unavailable; Client host [%s] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/%s; from=<x%d@spam.example> to=<member01@asso.example> proto=ESMTP helo=<[%s]>", ip, ip, ip, g.rng.IntN(999), ip)
	g.line(t, "smtpd", pid, "disconnect from unknown[%s] ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4", ip)
}

func (g *gen) authFail(t time.Time, ip, user string) {
	pid := 20000 + g.rng.IntN(9000)
	g.line(t, "submission/smtpd", pid, "connect from unknown[%s]", ip)
	if g.s.Postfix39 && user != "" {
		g.line(t, "submission/smtpd", pid, "warning: unknown[%s]: SASL LOGIN authentication failed: (reason unavailable), sasl_username=%s", ip, user)
	} else {
		g.line(t, "submission/smtpd", pid, "warning: unknown[%s]: SASL LOGIN authentication failed: UGFzc3dvcmQ6", ip)
	}
	g.line(t.Add(time.Second), "submission/smtpd", pid, "disconnect from unknown[%s] ehlo=1 auth=0/1 quit=1 commands=2/3", ip)
}

func (g *gen) attack(members []*member) {
	a := g.s.Attack
	if a.Kind == NoAttack {
		return
	}
	if a.Duration <= 0 {
		a.Duration = time.Hour
	}
	// The victim is a typical member: a few messages a day at most.
	victim := members[6]
	for _, m := range members {
		if m.perDay >= 1 && m.perDay <= 3 {
			victim = m
			break
		}
	}
	spam := func(i int) []string {
		return []string{fmt.Sprintf("v%d@%s", g.rng.IntN(1e6), []string{"gmail.com", "hotmail.com", "yahoo.com", "aol.com", fmt.Sprintf("t%d.example", g.rng.IntN(3000))}[i%5])}
	}
	add := func(t time.Time, f func(t time.Time)) {
		if t.Before(g.s.End) {
			g.info.Messages = append(g.info.Messages, t)
			g.at(t, f)
		}
	}
	switch a.Kind {
	case StolenSpray, StolenOneIP, StolenSlow:
		g.info.Subject = victim.name
		start := a.Start
		if a.Kind == StolenSpray {
			// Spraying: 1-3 tries from each of 150 addresses over 2 hours,
			// some with the victim's name, before the password works.
			for i := range 150 {
				ip := g.randomIP()
				at := start.Add(-2*time.Hour + time.Duration(i)*48*time.Second)
				for k := range 1 + g.rng.IntN(3) {
					user := victim.name
					if g.rng.IntN(2) == 0 {
						user = members[g.rng.IntN(len(members))].name
					}
					g.at(at.Add(time.Duration(k)*7*time.Second), func(t time.Time) { g.authFail(t, ip, user) })
				}
			}
		}
		var every func() time.Duration
		switch a.Kind {
		case StolenSlow:
			every = func() time.Duration { return time.Duration(90+g.rng.IntN(61)) * time.Second }
		default:
			every = func() time.Duration { return time.Second }
		}
		foreign := g.randomIP()
		var botnet []string
		for range 40 {
			botnet = append(botnet, g.randomIP())
		}
		i := 0
		for t := start; t.Before(start.Add(a.Duration)); t = t.Add(every()) {
			ip := foreign
			if a.Kind == StolenSpray {
				ip = botnet[i%len(botnet)]
			}
			rc := spam(i)
			add(t, func(t time.Time) { g.submit(t, victim.name, ip, victim.name, rc, false, dSent) })
			i++
		}
	case PickupPHP:
		g.info.Subject = "uid:33"
		i := 0
		for t := a.Start; t.Before(a.Start.Add(a.Duration)); t = t.Add(time.Second) {
			rc := spam(i)
			from := fmt.Sprintf("info%d@%s", i%9, []string{"paypa1-secure.example", "bank-alert.example", "dhl-track.example"}[g.rng.IntN(3)])
			add(t, func(t time.Time) { g.pickup(t, 33, "www-data", from, rc) })
			i++
		}
	case LocalSMTPPHP:
		g.info.Subject = "client:127.0.0.1"
		i := 0
		for t := a.Start; t.Before(a.Start.Add(a.Duration)); t = t.Add(time.Second) {
			rc := spam(i)
			from := fmt.Sprintf("%s@%s", []string{"paypal", "service", "no-reply", "admin"}[i%4], []string{"paypa1-secure.example", "bank-alert.example", "dhl-track.example"}[g.rng.IntN(3)])
			add(t, func(t time.Time) { g.localSMTP(t, from, rc) })
			i++
		}
	}
}
