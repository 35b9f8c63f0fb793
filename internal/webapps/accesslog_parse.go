package webapps

import (
	"bytes"
	"errors"
	"time"
)

// A Request is one access-log line. Its byte slices point into the line
// given to Parse and are valid until the next call.
type Request struct {
	VHost     []byte // empty in the plain combined format
	IP        []byte
	User      []byte
	Time      time.Time
	Method    []byte // empty when the request line is not "METHOD TARGET PROTO"
	Target    []byte // path and query, as the client sent them
	Proto     []byte
	Status    int
	Bytes     int64
	Referer   []byte
	UserAgent []byte
}

// ErrBadLine is returned (wrapped) for a line that is not in a known format.
var ErrBadLine = errors.New("not an access log line in combined or vhost-combined format")

// LineParser parses the nginx and Apache "combined" format and its
// virtual-host variants:
//
//	combined:        IP - USER [TIME] "REQUEST" STATUS BYTES "REFERER" "UA"
//	vhost_combined:  VHOST[:PORT] IP - USER [TIME] "REQUEST" STATUS BYTES "REFERER" "UA"
//
// (Apache's vhost_combined, and nginx's usual `$host $remote_addr ...`).
// Anything after the user agent (nginx extra fields) is ignored. It keeps
// the last timestamp, since consecutive lines mostly share it.
type LineParser struct {
	lastTS   [32]byte
	lastLen  int
	lastTime time.Time
}

// Parse fills r from line without allocating.
func (p *LineParser) Parse(line []byte, r *Request) error {
	*r = Request{}
	open := bytes.IndexByte(line, '[')
	if open < 0 {
		return badLine("no [time]")
	}
	// Fields before the time: IP IDENT USER, or VHOST IP IDENT USER.
	var f [5][]byte
	n := 0
	for rest := line[:open]; len(rest) > 0 && n < len(f); {
		rest = trimSpaceLeft(rest)
		if len(rest) == 0 {
			break
		}
		end := bytes.IndexByte(rest, ' ')
		if end < 0 {
			end = len(rest)
		}
		f[n] = rest[:end]
		n++
		rest = rest[end:]
	}
	switch {
	case n == 3:
		r.IP, r.User = f[0], f[2]
	case n == 4:
		r.VHost, r.IP, r.User = stripPort(f[0]), f[1], f[3]
	default:
		return badLine("expected 3 or 4 fields before [time]")
	}
	closeAt := bytes.IndexByte(line[open:], ']')
	if closeAt < 0 {
		return badLine("unterminated [time]")
	}
	ts := line[open+1 : open+closeAt]
	t, err := p.parseTime(ts)
	if err != nil {
		return err
	}
	r.Time = t
	rest := line[open+closeAt+1:]
	rest = trimSpaceLeft(rest)
	if len(rest) == 0 || rest[0] != '"' {
		return badLine("no quoted request")
	}
	req, rest, ok := quoted(rest)
	if !ok {
		return badLine("unterminated request")
	}
	splitRequest(req, r)
	rest = trimSpaceLeft(rest)
	st, rest := field(rest)
	if len(st) != 3 || !allDigitsB(st) {
		return badLine("bad status")
	}
	r.Status = int(st[0]-'0')*100 + int(st[1]-'0')*10 + int(st[2]-'0')
	rest = trimSpaceLeft(rest)
	b, rest := field(rest)
	if len(b) == 1 && b[0] == '-' {
		r.Bytes = 0
	} else if allDigitsB(b) && len(b) < 19 {
		for _, c := range b {
			r.Bytes = r.Bytes*10 + int64(c-'0')
		}
	} else {
		return badLine("bad byte count")
	}
	// Referer and user agent are optional (the "common" format has none).
	rest = trimSpaceLeft(rest)
	if len(rest) > 0 && rest[0] == '"' {
		if r.Referer, rest, ok = quoted(rest); ok {
			rest = trimSpaceLeft(rest)
			if len(rest) > 0 && rest[0] == '"' {
				r.UserAgent, _, _ = quoted(rest)
			}
		}
	}
	return nil
}

func badLine(why string) error { return &lineErr{why} }

type lineErr struct{ why string }

func (e *lineErr) Error() string { return ErrBadLine.Error() + ": " + e.why }
func (e *lineErr) Unwrap() error { return ErrBadLine }

func trimSpaceLeft(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}

func field(b []byte) (f, rest []byte) {
	i := bytes.IndexByte(b, ' ')
	if i < 0 {
		return trimEOL(b), nil
	}
	return b[:i], b[i:]
}

func trimEOL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// quoted returns the content of the quoted string b starts with. Apache
// escapes a quote inside as \" and nginx as \x22; a backslash-escaped
// quote does not end the string.
func quoted(b []byte) (inner, rest []byte, ok bool) {
	for i := 1; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return b[1:i], b[i+1:], true
		}
	}
	return nil, nil, false
}

func splitRequest(req []byte, r *Request) {
	sp := bytes.IndexByte(req, ' ')
	last := bytes.LastIndexByte(req, ' ')
	if sp <= 0 || last == sp || !bytes.HasPrefix(req[last+1:], []byte("HTTP/")) {
		if sp > 0 && last == sp && isMethod(req[:sp]) {
			// HTTP/0.9 style "GET /path".
			r.Method, r.Target = req[:sp], req[sp+1:]
			return
		}
		r.Target = req // garbage (a TLS handshake on port 80, "-"): kept as is
		return
	}
	if !isMethod(req[:sp]) {
		r.Target = req
		return
	}
	r.Method, r.Target, r.Proto = req[:sp], req[sp+1:last], req[last+1:]
}

func isMethod(m []byte) bool {
	if len(m) == 0 || len(m) > 16 {
		return false
	}
	for _, c := range m {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

func allDigitsB(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func stripPort(h []byte) []byte {
	if i := bytes.LastIndexByte(h, ':'); i > 0 && bytes.IndexByte(h, ']') < i && allDigitsB(h[i+1:]) {
		return h[:i]
	}
	return h
}

var months = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// parseTime reads 10/Oct/2000:13:55:36 -0700.
func (p *LineParser) parseTime(ts []byte) (time.Time, error) {
	if len(ts) == p.lastLen && p.lastLen > 0 && bytes.Equal(ts, p.lastTS[:p.lastLen]) {
		return p.lastTime, nil
	}
	if len(ts) != 26 || ts[2] != '/' || ts[6] != '/' || ts[11] != ':' || ts[14] != ':' || ts[17] != ':' || ts[20] != ' ' {
		return time.Time{}, badLine("bad time")
	}
	num := func(b []byte) int {
		v := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	day, year, hh, mm, ss := num(ts[0:2]), num(ts[7:11]), num(ts[12:14]), num(ts[15:17]), num(ts[18:20])
	month := -1
	for i, m := range months {
		if string(ts[3:6]) == m {
			month = i + 1
			break
		}
	}
	zh, zm := num(ts[22:24]), num(ts[24:26])
	if day < 1 || day > 31 || year < 0 || month < 0 || hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 60 ||
		zh < 0 || zh > 14 || zm < 0 || zm > 59 || (ts[21] != '+' && ts[21] != '-') {
		return time.Time{}, badLine("bad time")
	}
	off := (zh*60 + zm) * 60
	if ts[21] == '-' {
		off = -off
	}
	t := time.Date(year, time.Month(month), day, hh, mm, ss, 0, time.FixedZone("", off)).UTC()
	copy(p.lastTS[:], ts)
	p.lastLen, p.lastTime = len(ts), t
	return t, nil
}

// decodeURL percent-decodes src into dst (reused), twice when the first
// pass leaves escapes (attackers double-encode: %2523 is '#'). '+' stays
// '+': in a path it is literal, and no pattern here needs the space.
func decodeURL(dst, src []byte) []byte {
	if bytes.IndexByte(src, '%') < 0 {
		return src
	}
	dst = unescape(dst[:0], src)
	if bytes.IndexByte(dst, '%') >= 0 {
		var tmp [512]byte
		if len(dst) <= len(tmp) {
			n := copy(tmp[:], dst)
			dst = unescape(dst[:0], tmp[:n])
		}
	}
	return dst
}

func unescape(dst, src []byte) []byte {
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c == '%' && i+2 < len(src) && ishex(src[i+1]) && ishex(src[i+2]) {
			dst = append(dst, unhex(src[i+1])<<4|unhex(src[i+2]))
			i += 2
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

func ishex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
