package mail

import (
	"testing"
	"unicode/utf8"

	"github.com/vigie/vigie/internal/mail/postfixlog"
)

// FuzzJournalEntry: a line of journalctl -o json, whose MESSAGE (and
// every other field) a remote client or a local user can shape, decodes
// or fails cleanly. The kept corpus (testdata/fuzz/FuzzJournalEntry) is
// real Postfix lines in the field set of real journal entries.
func FuzzJournalEntry(f *testing.F) {
	f.Add([]byte(`{"__CURSOR":"s=1;i=1","__REALTIME_TIMESTAMP":"1727614801000000","SYSLOG_IDENTIFIER":"postfix/smtpd","_PID":"7","MESSAGE":"connect from unknown[192.0.2.1]"}`))
	f.Add([]byte(`{"MESSAGE":[255,0,10]}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		var e postfixlog.Entry
		cursor, err := decodeJournal(line, &e)
		if err != nil {
			return
		}
		if utf8.Valid(line) && !utf8.ValidString(cursor) {
			t.Fatalf("cursor %q from valid UTF-8", cursor)
		}
	})
}
