package postgres

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Times are stored as timestamptz, which keeps microseconds: a time is
// rounded down to the microsecond on the way in, so what a caller gets
// back equals what it would compare against. The zero time is stored as
// 0001-01-01 UTC and reads back as the zero time.
func ts(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

func fromTS(t time.Time) time.Time {
	t = t.UTC()
	if t.IsZero() {
		return time.Time{}
	}
	return t
}

func encodeMap(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(m) // a map[string]string always marshals
	return string(b)
}

func decodeMap(s string) map[string]string {
	if s == "" || s == "{}" {
		return nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return map[string]string{"undecodable": s}
	}
	return m
}

func limit(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

// where builds "WHERE a = $1 AND b = $2" as conditions are added.
type where struct {
	conds []string
	args  []any
}

// add appends a condition whose "?" stands for v.
func (w *where) add(cond string, v any) {
	w.args = append(w.args, v)
	w.conds = append(w.conds, strings.Replace(cond, "?", "$"+strconv.Itoa(len(w.args)), 1))
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// next is the placeholder of the next argument.
func (w *where) next(v any) string {
	w.args = append(w.args, v)
	return "$" + strconv.Itoa(len(w.args))
}

// txt makes attacker-controlled text storable: PostgreSQL text holds
// neither NUL bytes nor invalid UTF-8 (SQLite holds both). Rather than
// lose the finding, those bytes are replaced by U+FFFD; every other byte
// is kept as it came.
func txt(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	}
	return s
}

// txtMap is txt for map keys and values (JSON escapes NUL, not bad UTF-8).
func txtMap(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[txt(k)] = txt(v)
	}
	return encodeMap(c)
}
