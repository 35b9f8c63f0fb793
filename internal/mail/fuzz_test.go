package mail

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/vigie/vigie/internal/mail/postfixlog"
	"github.com/vigie/vigie/internal/vigie"
)

// FuzzEngine runs arbitrary lines (a few per input, split on newlines)
// through the whole engine: no panic, and every finding is valid.
func FuzzEngine(f *testing.F) {
	if fh, err := os.Open("postfixlog/testdata/sample.log"); err == nil {
		sc := bufio.NewScanner(fh)
		var b strings.Builder
		for sc.Scan() {
			b.WriteString(sc.Text() + "\n")
		}
		fh.Close()
		f.Add(b.String())
	}
	f.Add("2024-09-29T13:00:01Z mx postfix/smtp[1]: ABCDEF1234: to=<a@b>, relay=x, dsn=5.7.1, status=bounced (host x[1.2.3.4] said: blocked using \x00;)")
	f.Add("2024-09-29T13:00:01Z mx postfix/smtp[1]: ABCDEF1234: to=<a@b>, status=deferred ((S3150)")
	f.Fuzz(func(t *testing.T, text string) {
		e := NewEngine(EngineOptions{Config: defaults(), LogQueue: true, Emit: func(fd vigie.Finding) {
			if err := fd.Validate(); err != nil {
				t.Fatalf("invalid finding: %v", err)
			}
		}})
		for _, l := range strings.Split(text, "\n") {
			e.Line(l)
		}
		var en postfixlog.Entry
		decodeJournal([]byte(text), &en)
		ParseListing(text)
	})
}
