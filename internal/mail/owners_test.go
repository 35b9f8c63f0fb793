package mail

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigie/vigie/internal/mailqueue"
)

// The command line's queue actions find a SASL user's and a local uid's
// queue ids in the mail log, across the rotated and the current file.
func TestLogOwnersFromTheMailLog(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "mail.log")
	os.WriteFile(log+".1", []byte(
		"Sep 29 13:00:01 mx postfix/submission/smtpd[1234]: 3F4A21C0D2: client=unknown[203.0.113.5], sasl_method=PLAIN, sasl_username=alice@example.org\n"+
			"Sep 29 13:00:01 mx postfix/qmgr[99]: 3F4A21C0D2: from=<alice@example.org>, size=1200, nrcpt=1 (queue active)\n"), 0o644)
	os.WriteFile(log, []byte(
		"Sep 29 13:05:00 mx postfix/pickup[77]: 9A1B2C3D4E: uid=33 from=<www-data@example.org>\n"+
			"Sep 29 13:05:01 mx postfix/smtpd[1300]: 5C1B31D0E3: client=mail.example.net[198.51.100.7]\n"+
			"garbage line <script>\n"), 0o644)
	cfg := defaults()
	cfg.Source, cfg.LogFile = "file", log
	msgs := []mailqueue.Message{{ID: "3F4A21C0D2"}, {ID: "9A1B2C3D4E"}, {ID: "5C1B31D0E3"}, {ID: "NOTINLOG01"}}
	got, err := LogOwners{Config: cfg}.Owners(context.Background(), msgs)
	if err != nil {
		t.Fatal(err)
	}
	if o := got["3F4A21C0D2"]; o.SASLUser != "alice@example.org" || o.Client != "203.0.113.5" {
		t.Errorf("alice's message: %+v", o)
	}
	if o := got["9A1B2C3D4E"]; o.UID != 33 || o.SASLUser != "" {
		t.Errorf("uid 33's message: %+v", o)
	}
	// Neither authenticated nor local: the log tells nothing useful; a
	// message the log never named is left to the next index.
	for _, id := range []string{"5C1B31D0E3", "NOTINLOG01"} {
		if o, ok := got[id]; ok {
			t.Errorf("%s: %+v, want absent", id, o)
		}
	}
	cfg.Source = "journal"
	if got, _ := (LogOwners{Config: cfg}).Owners(context.Background(), msgs); len(got) != 0 {
		t.Errorf("journal source read the file: %+v", got)
	}
}
