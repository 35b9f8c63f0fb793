package mail_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/mail"
	"github.com/vigie/vigie/internal/mail/mailgen"
	"github.com/vigie/vigie/internal/watch/watchtest"
)

func TestConformance(t *testing.T) {
	t.Run("absent", func(t *testing.T) {
		cfg := config.Default()
		cfg.Mail.LogFile = filepath.Join(t.TempDir(), "mail.log")      // not there
		cfg.Mail.Journalctl = filepath.Join(t.TempDir(), "journalctl") // no journal
		cfg.Postfix.ConfigDir = t.TempDir()
		watchtest.Absent(t, mail.Descriptor(), cfg)
	})
	t.Run("run", func(t *testing.T) {
		// The watch follows a Postfix log file, as the daemon does with
		// mail.log_file: empty when it starts (nothing to learn as
		// history), then written as Postfix would: ordinary accounts, mail
		// from the outside, and one account whose password was stolen
		// sending a message a second.
		dir := t.TempDir()
		logPath := filepath.Join(dir, "mail.log")
		if err := os.WriteFile(logPath, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		start := time.Now().UTC().Truncate(time.Minute).Add(-20 * time.Minute)
		sc := mailgen.Scenario{Start: start, End: start.Add(15 * time.Minute), Seed: 18, Users: 6, PerUserPerDay: 400, InboundPerHour: 120,
			Bursts: []mailgen.Burst{{User: "user04@example.org", Start: start.Add(2 * time.Minute), Every: time.Second, Count: 400}}}
		var lines bytes.Buffer
		sc.Write(&lines)
		if lines.Len() == 0 {
			t.Fatal("mailgen wrote nothing")
		}
		ctx, cancel := context.WithCancel(context.Background())
		fed := make(chan struct{})
		go func() { // a chunk of whole lines every 20 ms
			defer close(fed)
			f, err := os.OpenFile(logPath, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Error(err)
				return
			}
			defer f.Close()
			rest := lines.Bytes()
			for len(rest) > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(20 * time.Millisecond):
				}
				n := min(len(rest), 8<<10)
				if i := bytes.LastIndexByte(rest[:n], '\n'); i >= 0 && n < len(rest) {
					n = i + 1
				}
				if _, err := f.Write(rest[:n]); err != nil {
					t.Error(err)
					return
				}
				rest = rest[n:]
			}
		}()
		defer func() { cancel(); <-fed }()

		cfg := config.Default()
		cfg.Mail.Enabled = config.SwitchOn
		cfg.Mail.Source, cfg.Mail.LogFile, cfg.Mail.PollInterval = "file", logPath, 20*time.Millisecond
		cfg.Mail.Queue.Enabled = config.SwitchOff // no postqueue here: the queue series comes from the log
		cfg.Postfix.ConfigDir = dir
		watchtest.Run(t, mail.Descriptor(), cfg, 30*time.Second)
	})
}
