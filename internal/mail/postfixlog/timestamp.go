package postfixlog

import "time"

// clock turns syslog timestamps into times. Classic syslog stamps
// ("Sep 29 13:00:01") carry no year and no zone: the year starts from a
// reference time and moves forward when the month wraps from December to
// January; the zone is Loc. Timestamps repeat from line to line, so the
// last one is cached.
type clock struct {
	loc       *time.Location
	year      int
	lastMonth time.Month
	lastText  string
	lastTime  time.Time
	zoneOff   int
	zone      *time.Location
}

func newClock(ref time.Time, loc *time.Location) clock {
	if loc == nil {
		loc = time.Local
	}
	if ref.IsZero() {
		ref = time.Now()
	}
	return clock{loc: loc, year: ref.In(loc).Year(), lastMonth: ref.In(loc).Month()}
}

var months = map[string]time.Month{"Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "May": 5, "Jun": 6,
	"Jul": 7, "Aug": 8, "Sep": 9, "Oct": 10, "Nov": 11, "Dec": 12}

func digits2(s string) (int, bool) {
	if len(s) != 2 || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' {
		return 0, false
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), true
}

func digitsN(s string) (int, bool) {
	if len(s) == 0 || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// classic parses "Mmm dd hh:mm:ss" (day space-padded or not) at the start
// of line and returns the time and the rest after the following space.
func (c *clock) classic(line string) (time.Time, string, bool) {
	// "Aug 3 15:30:49": a day not padded to two characters (some syslog
	// daemons and journalctl -o short write it so). Read it as " 3".
	if len(line) > 15 && line[3] == ' ' && line[4] >= '1' && line[4] <= '9' && line[5] == ' ' {
		t, rest, ok := c.classic(line[:4] + " " + line[4:])
		return t, rest, ok
	}
	if len(line) < 16 || line[3] != ' ' || line[6] != ' ' || line[15] != ' ' {
		return time.Time{}, "", false
	}
	text := line[:15]
	if text == c.lastText {
		return c.lastTime, line[16:], true
	}
	mon, ok := months[line[:3]]
	if !ok {
		return time.Time{}, "", false
	}
	d := line[4:6]
	if d[0] == ' ' {
		d = "0" + d[1:]
	}
	day, ok1 := digits2(d)
	h, ok2 := digits2(line[7:9])
	m, ok3 := digits2(line[10:12])
	s, ok4 := digits2(line[13:15])
	if !ok1 || !ok2 || !ok3 || !ok4 || line[9] != ':' || line[12] != ':' || day < 1 || day > 31 || h > 23 || m > 59 || s > 60 {
		return time.Time{}, "", false
	}
	// A jump back of more than half a year is the new year.
	if mon < c.lastMonth && c.lastMonth-mon > 6 {
		c.year++
	} else if mon > c.lastMonth && mon-c.lastMonth > 6 {
		c.year--
	}
	c.lastMonth = mon
	t := time.Date(c.year, mon, day, h, m, s, 0, c.loc)
	c.lastText, c.lastTime = text, t
	return t, line[16:], true
}

// rfc3339 parses "2006-01-02T15:04:05[.frac](Z|+hh:mm|+hhmm)" at the start of
// line, as written by rsyslog's high-precision format, Postfix's
// maillog_file with RFC 3339 stamps, and journalctl -o short-iso[-precise].
func (c *clock) rfc3339(line string) (time.Time, string, bool) {
	sp := 0
	for sp < len(line) && line[sp] != ' ' {
		sp++
	}
	if sp >= len(line) || sp < 20 {
		return time.Time{}, "", false
	}
	s := line[:sp]
	if s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, "", false
	}
	y, ok0 := digitsN(s[0:4])
	mo, ok1 := digits2(s[5:7])
	d, ok2 := digits2(s[8:10])
	h, ok3 := digits2(s[11:13])
	mi, ok4 := digits2(s[14:16])
	se, ok5 := digits2(s[17:19])
	if !ok0 || !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60 {
		return time.Time{}, "", false
	}
	rest := s[19:]
	ns := 0
	if len(rest) > 0 && rest[0] == '.' {
		i := 1
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		frac := rest[1:i]
		if len(frac) == 0 {
			return time.Time{}, "", false
		}
		for k := 0; k < 9; k++ {
			ns *= 10
			if k < len(frac) {
				ns += int(frac[k] - '0')
			}
		}
		rest = rest[i:]
	}
	var loc *time.Location
	switch {
	case rest == "Z":
		loc = time.UTC
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':',
		len(rest) == 5 && (rest[0] == '+' || rest[0] == '-'):
		oh, okh := digits2(rest[1:3])
		om, okm := digits2(rest[len(rest)-2:])
		if !okh || !okm {
			return time.Time{}, "", false
		}
		off := (oh*60 + om) * 60
		if rest[0] == '-' {
			off = -off
		}
		if c.zone == nil || c.zoneOff != off {
			c.zone, c.zoneOff = time.FixedZone("", off), off
		}
		loc = c.zone
	default:
		return time.Time{}, "", false
	}
	return time.Date(y, time.Month(mo), d, h, mi, se, ns, loc), line[sp+1:], true
}
