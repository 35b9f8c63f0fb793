package postfixlog

import (
	"strings"
	"time"
)

// Options configure a Parser.
type Options struct {
	// Reference dates classic syslog stamps, which have no year: the year
	// of the first line is the reference's (the previous one if the
	// line's month is more than six months after the reference's). Zero:
	// now.
	Reference time.Time
	// Location of classic stamps. Nil: the local zone.
	Location *time.Location
}

// A Parser parses lines of one log in order. It is not safe for
// concurrent use; it keeps the year of classic stamps.
type Parser struct {
	clk clock
	// The smtpd process that last said its SASL back end was unreachable
	// ("cannot connect to saslauthd server"), and when: its next failure
	// is the back end's fault, not the password's.
	authDownPID int
	authDownAt  time.Time
}

// NewParser returns a parser for one log.
func NewParser(o Options) *Parser {
	return &Parser{clk: newClock(o.Reference, o.Location)}
}

// Parse parses one line (without its newline) into e, which it resets
// first. A line without a syslog header, or from another program, is
// KindNotPostfix; e.Time is set whenever the header was readable.
func (p *Parser) Parse(line string, e *Entry) {
	e.Reset()
	var (
		t    time.Time
		rest string
		ok   bool
	)
	if len(line) > 4 && line[0] >= '0' && line[0] <= '9' {
		t, rest, ok = p.clk.rfc3339(line)
	} else {
		t, rest, ok = p.clk.classic(line)
	}
	if !ok {
		return
	}
	e.Time = t
	sp := strings.IndexByte(rest, ' ')
	if sp <= 0 {
		return
	}
	e.Host = rest[:sp]
	rest = rest[sp+1:]
	colon := strings.Index(rest, ": ")
	if colon <= 0 {
		return
	}
	tag := rest[:colon]
	pid := 0
	if tag[len(tag)-1] == ']' {
		if lb := strings.LastIndexByte(tag, '['); lb > 0 {
			pid, _ = digitsN(tag[lb+1 : len(tag)-1])
			tag = tag[:lb]
		}
	}
	ParseMessage(tag, pid, rest[colon+2:], e)
	switch {
	case e.Kind == KindOther && strings.HasPrefix(e.Message, "warning: SASL authentication failure: cannot connect to saslauthd server"):
		p.authDownPID, p.authDownAt = pid, t
	case e.Kind == KindSASLFail && pid != 0 && pid == p.authDownPID && !t.Before(p.authDownAt) && t.Sub(p.authDownAt) <= 2*time.Second:
		e.AuthBackendDown = true
	}
}

// ParseMessage parses the message of a line whose header was read
// elsewhere (the journal gives tag, pid and message as fields). It does
// not reset e: call e.Reset, then set Time and Host, then ParseMessage.
func ParseMessage(program string, pid int, msg string, e *Entry) {
	if !strings.HasPrefix(program, "postfix") {
		e.Kind = KindNotPostfix
		return
	}
	slash := strings.IndexByte(program, '/')
	if slash < 0 {
		e.Kind = KindNotPostfix
		return
	}
	e.Program, e.PID, e.Message = program, pid, msg
	e.Daemon = program[strings.LastIndexByte(program, '/')+1:]
	e.Kind = KindUnknown
	switch e.Daemon {
	case "postscreen":
		parsePostscreen(msg, e)
		return
	case "dnsblog":
		parseDNSBLog(msg, e)
		return
	}
	if strings.HasPrefix(msg, "NOQUEUE: ") {
		body := msg[len("NOQUEUE: "):]
		if strings.HasPrefix(body, "reject: ") {
			parseReject(body[len("reject: "):], e)
		} else {
			e.Kind = KindOther
		}
		return
	}
	qid, body := splitQueueID(msg)
	if qid == "" {
		parseNoQueueID(msg, e)
		return
	}
	e.QueueID = qid
	switch {
	case strings.HasPrefix(body, "client="):
		parseClient(body, e)
	case strings.HasPrefix(body, "to="):
		parseDelivery(body, e)
	case strings.HasPrefix(body, "from="):
		parseFrom(body, e)
	case body == "removed":
		e.Kind = KindRemoved
	case strings.HasPrefix(body, "uid="):
		parsePickup(body, e)
	case strings.HasPrefix(body, "message-id="):
		e.Kind = KindMessageID
		e.MessageID = trimAngle(body[len("message-id="):])
	case strings.HasPrefix(body, "reject: "):
		parseReject(body[len("reject: "):], e)
	case strings.HasPrefix(body, "milter-reject: "):
		parseReject(body[len("milter-reject: "):], e)
	case strings.HasPrefix(body, "hold: "), strings.HasPrefix(body, "milter-hold: "):
		// An access HOLD, a header_checks HOLD or a milter quarantine:
		// the same shape as a reject; the message waits in the hold
		// queue and qmgr logs its from= only when it is released.
		parseReject(body[strings.IndexByte(body, ' ')+1:], e)
		e.Kind = KindHold
	case strings.HasPrefix(body, "sender non-delivery notification: "),
		strings.HasPrefix(body, "sender delivery status notification: "),
		strings.HasPrefix(body, "postmaster non-delivery notification: "),
		strings.HasPrefix(body, "sender delay notification: "):
		e.Kind = KindBounce
		e.ChildQueueID = body[strings.LastIndexByte(body, ' ')+1:]
	default:
		// resent-message-id, warning: header ..., milter lines, hold,
		// redirect, discard: known shapes carrying nothing counted.
		e.Kind = KindOther
	}
}

// isQueueID accepts Postfix short ids (upper-case hex, from 6 characters)
// and long ids (enable_long_queue_ids): 6 characters of seconds and 4 of
// microseconds in a 52-character alphabet without vowels (which has a
// 'z'), the separator 'z' at offset 10, then the inode number. The
// separator is found by its place, not as the first 'z': the time part
// holds a 'z' in about one id in eight.
func isQueueID(s string) bool {
	if len(s) < 6 || len(s) > 32 {
		return false
	}
	hex := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F') {
			hex = false
			break
		}
	}
	if hex {
		return true
	}
	if len(s) < 12 || s[10] != 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
		case c >= 'B' && c <= 'Z' || c >= 'b' && c <= 'z':
			switch c {
			case 'E', 'I', 'O', 'U', 'e', 'i', 'o', 'u':
				return false
			}
		default:
			return false
		}
	}
	return true
}

// splitQueueID splits "QID: rest".
func splitQueueID(msg string) (string, string) {
	i := 0
	for i < len(msg) && i <= 32 && isAlnum(msg[i]) {
		i++
	}
	if i+1 >= len(msg) || msg[i] != ':' || msg[i+1] != ' ' || !isQueueID(msg[:i]) {
		return "", msg
	}
	return msg[:i], msg[i+2:]
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

// trimAngle removes the <> around an address or message id.
func trimAngle(s string) string {
	if len(s) >= 2 && s[0] == '<' && s[len(s)-1] == '>' {
		return s[1 : len(s)-1]
	}
	return s
}

// splitClient splits "name[ip]" or "name[ip]:port".
func splitClient(s string) (name, ip string) {
	lb := strings.IndexByte(s, '[')
	if lb < 0 {
		return s, ""
	}
	rb := strings.IndexByte(s[lb:], ']')
	if rb < 0 {
		return s[:lb], ""
	}
	return s[:lb], s[lb+1 : lb+rb]
}

// fields walks "k1=v1, k2=v2" lists, where values may hold ", " inside
// <...> (addresses) but not elsewhere.
type fields struct{ s string }

func (f *fields) next() (key, val string, ok bool) {
	s := f.s
	for len(s) > 0 && (s[0] == ',' || s[0] == ' ') {
		s = s[1:]
	}
	eq := strings.IndexByte(s, '=')
	if eq <= 0 {
		f.s = ""
		return "", "", false
	}
	key = s[:eq]
	if strings.IndexByte(key, ' ') >= 0 {
		f.s = ""
		return "", "", false
	}
	s = s[eq+1:]
	end := 0
	if len(s) > 0 && s[0] == '<' {
		if gt := strings.IndexByte(s, '>'); gt >= 0 {
			end = gt + 1
		} else {
			end = len(s)
		}
	} else {
		end = strings.Index(s, ", ")
		if end < 0 {
			end = len(s)
		}
	}
	val, f.s = s[:end], s[end:]
	return key, val, true
}

func parseClient(body string, e *Entry) {
	e.Kind = KindClient
	f := fields{body}
	for {
		k, v, ok := f.next()
		if !ok {
			return
		}
		switch k {
		case "client":
			e.ClientName, e.ClientIP = splitClient(v)
		case "sasl_method":
			e.SASLMethod = v
		case "sasl_username":
			e.SASLUser = v
		}
	}
}

func parsePickup(body string, e *Entry) {
	e.Kind = KindPickup
	// uid=33 from=<www-data>
	rest := body[len("uid="):]
	sp := strings.IndexByte(rest, ' ')
	num := rest
	if sp >= 0 {
		num = rest[:sp]
		rest = rest[sp+1:]
	} else {
		rest = ""
	}
	if n, ok := digitsN(num); ok {
		e.UID = n
	}
	if strings.HasPrefix(rest, "from=") {
		e.Sender = trimAngle(rest[len("from="):])
	}
}

// parseFrom reads qmgr's "from=<s>, size=N, nrcpt=N (queue active)" and
// "from=<s>, status=expired, returned to sender".
func parseFrom(body string, e *Entry) {
	e.Kind = KindQueued
	f := fields{body}
	for {
		k, v, ok := f.next()
		if !ok {
			return
		}
		switch k {
		case "from":
			e.Sender = trimAngle(v)
		case "size":
			n, _ := digitsN(v)
			e.Size = int64(n)
		case "nrcpt":
			if sp := strings.IndexByte(v, ' '); sp >= 0 {
				v = v[:sp]
			}
			e.Nrcpt, _ = digitsN(v)
		case "status":
			e.Status = v
			if v == "expired" {
				e.Kind = KindExpired
			}
		}
	}
}

// parseDelivery reads "to=<r>, orig_to=<o>, relay=x, delay=, delays=,
// dsn=X.Y.Z, status=word (reply)". The reply is free text and is the last
// field, so it is cut before the field walk.
func parseDelivery(body string, e *Entry) {
	e.Kind = KindDelivery
	if i := strings.Index(body, ", status="); i >= 0 {
		st := body[i+len(", status="):]
		body = body[:i]
		if sp := strings.IndexByte(st, ' '); sp >= 0 {
			e.Status = st[:sp]
			r := st[sp+1:]
			if len(r) >= 2 && r[0] == '(' && r[len(r)-1] == ')' {
				r = r[1 : len(r)-1]
			}
			e.Reply = r
		} else {
			e.Status = st
		}
	}
	f := fields{body}
	for {
		k, v, ok := f.next()
		if !ok {
			return
		}
		switch k {
		case "to":
			e.Recipient = trimAngle(v)
		case "orig_to":
			e.OrigTo = trimAngle(v)
		case "relay":
			e.Relay = v
		case "dsn":
			e.DSN = v
		}
	}
}

// parseReject reads "RCPT from name[ip]: 554 5.7.1 reason; from=<s>
// to=<r> proto=ESMTP helo=<h>".
func parseReject(body string, e *Entry) {
	e.Kind = KindReject
	if sp := strings.IndexByte(body, ' '); sp > 0 {
		e.RejectStage = body[:sp]
		body = body[sp+1:]
	}
	if strings.HasPrefix(body, "from ") {
		body = body[len("from "):]
		if c := strings.Index(body, ": "); c >= 0 {
			e.ClientName, e.ClientIP = splitClient(body[:c])
			body = body[c+2:]
		}
	}
	semi := strings.LastIndex(body, "; from=<")
	if semi < 0 {
		e.Reply = body
		return
	}
	e.Reply = body[:semi]
	tail := body[semi+2:]
	// from=<s> to=<r> proto=ESMTP helo=<h>: addresses may hold spaces, so
	// read each <...> to its closing '>'.
	for len(tail) > 0 {
		eq := strings.IndexByte(tail, '=')
		if eq <= 0 {
			return
		}
		k := tail[:eq]
		tail = tail[eq+1:]
		var v string
		if len(tail) > 0 && tail[0] == '<' {
			gt := strings.Index(tail, "> ")
			if gt < 0 {
				v, tail = tail, ""
				if strings.HasSuffix(v, ">") {
					v = v[:len(v)-1]
				}
				v = v[1:]
			} else {
				v, tail = tail[1:gt], tail[gt+2:]
			}
		} else if sp := strings.IndexByte(tail, ' '); sp >= 0 {
			v, tail = tail[:sp], tail[sp+1:]
		} else {
			v, tail = tail, ""
		}
		switch k {
		case "from":
			e.Sender = v
		case "to":
			e.Recipient = v
		case "helo":
			e.Helo = v
		}
	}
}

// parseNoQueueID reads the lines of smtpd and others that carry no queue
// id: SASL failures, connects and disconnects, warnings.
func parseNoQueueID(msg string, e *Entry) {
	if strings.HasPrefix(msg, "warning: ") {
		w := msg[len("warning: "):]
		// warning: name[ip]: SASL LOGIN authentication failed: reason[, sasl_username=u]
		if i := strings.Index(w, ": SASL "); i > 0 && strings.Contains(w[i:], " authentication failed") {
			e.Kind = KindSASLFail
			e.ClientName, e.ClientIP = splitClient(w[:i])
			m := w[i+len(": SASL "):]
			if sp := strings.IndexByte(m, ' '); sp > 0 {
				e.SASLMethod = m[:sp]
			}
			if u := strings.LastIndex(m, ", sasl_username="); u >= 0 {
				e.SASLUser = m[u+len(", sasl_username="):]
				m = m[:u]
			}
			if c := strings.Index(m, "failed: "); c >= 0 {
				e.Reply = m[c+len("failed: "):]
			}
			return
		}
		e.Kind = KindOther
		return
	}
	if strings.HasPrefix(msg, "disconnect from ") {
		parseDisconnect(msg[len("disconnect from "):], e)
		return
	}
	switch {
	case strings.HasPrefix(msg, "connect from "),
		strings.HasPrefix(msg, "lost connection "), strings.HasPrefix(msg, "timeout after "),
		strings.HasPrefix(msg, "statistics: "), strings.HasPrefix(msg, "Anonymous TLS connection"),
		strings.HasPrefix(msg, "Trusted TLS connection"), strings.HasPrefix(msg, "Untrusted TLS connection"),
		strings.HasPrefix(msg, "Verified TLS connection"), strings.HasPrefix(msg, "SSL_accept error"),
		strings.HasPrefix(msg, "too many errors"), strings.HasPrefix(msg, "improper command pipelining"),
		strings.HasPrefix(msg, "daemon started"), strings.HasPrefix(msg, "reload "),
		strings.HasPrefix(msg, "terminating on signal"), strings.HasPrefix(msg, "error: "),
		strings.HasPrefix(msg, "fatal: "), strings.HasPrefix(msg, "panic: "),
		strings.HasPrefix(msg, "NOQUEUE: "), strings.HasPrefix(msg, "table "),
		strings.HasPrefix(msg, "postfix/"), strings.HasPrefix(msg, "mail system"):
		e.Kind = KindOther
	}
}

// parsePostscreen counts postscreen lines and keeps the client of
// CONNECT, DNSBL and PASS lines.
func parsePostscreen(msg string, e *Entry) {
	e.Kind = KindPostscreen
	if lb := strings.IndexByte(msg, '['); lb >= 0 {
		if rb := strings.IndexByte(msg[lb:], ']'); rb > 0 {
			e.ClientIP = msg[lb+1 : lb+rb]
		}
	}
	if strings.HasPrefix(msg, "NOQUEUE: reject: ") {
		parseReject(msg[len("NOQUEUE: reject: "):], e)
		e.Kind = KindReject
	}
}

// parseDNSBLog reads "addr 192.0.2.1 listed by domain zen.spamhaus.org as 127.0.0.2".
func parseDNSBLog(msg string, e *Entry) {
	e.Kind = KindDNSBL
	const pre = "addr "
	if !strings.HasPrefix(msg, pre) {
		return
	}
	rest := msg[len(pre):]
	sp := strings.IndexByte(rest, ' ')
	if sp < 0 {
		return
	}
	e.ClientIP = rest[:sp]
	rest = rest[sp:]
	if strings.HasPrefix(rest, " listed by domain ") {
		rest = rest[len(" listed by domain "):]
		if sp := strings.IndexByte(rest, ' '); sp >= 0 {
			rest = rest[:sp]
		}
		e.DNSBLZone = rest
	}
}

// parseDisconnect reads smtpd's "disconnect from name[ip] ehlo=1 auth=0/1
// quit=1 commands=2/3" (Postfix 3.0+): auth=S/T is T AUTH commands of
// which S succeeded.
func parseDisconnect(rest string, e *Entry) {
	e.Kind = KindDisconnect
	client := rest
	if sp := strings.IndexByte(rest, ' '); sp >= 0 {
		client = rest[:sp]
	}
	e.ClientName, e.ClientIP = splitClient(client)
	i := strings.Index(rest, " auth=")
	if i < 0 {
		return
	}
	v := rest[i+len(" auth="):]
	if sp := strings.IndexByte(v, ' '); sp >= 0 {
		v = v[:sp]
	}
	ok, total, found := strings.Cut(v, "/")
	if !found {
		// auth=1: every AUTH command succeeded.
		n, good := digitsN(v)
		if good {
			e.AuthTotal = n
		}
		return
	}
	s, ok1 := digitsN(ok)
	t, ok2 := digitsN(total)
	if ok1 && ok2 && s <= t {
		e.AuthTotal, e.AuthFailed = t, t-s
	}
}

// AuthServerFault reports whether a SASL failure is the authentication
// back end's fault, not the client's: Dovecot down or restarting
// ("Connection lost to authentication server"), or Cyrus saslauthd
// unreachable (the same smtpd said so just before). Such failures say
// nothing about the password tried: a back-end outage must not make every
// member a brute-forcer.
func (e *Entry) AuthServerFault() bool {
	return e.Kind == KindSASLFail && (e.AuthBackendDown || strings.HasPrefix(e.Reply, "Connection lost to authentication server"))
}
