package mail_test

import (
	"path/filepath"
	"testing"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/mail"
	"github.com/vigie/vigie/internal/watch/watchtest"
)

func TestConformance(t *testing.T) {
	cfg := config.Default()
	cfg.Mail.LogFile = filepath.Join(t.TempDir(), "mail.log")      // not there
	cfg.Mail.Journalctl = filepath.Join(t.TempDir(), "journalctl") // no journal
	cfg.Postfix.ConfigDir = t.TempDir()
	watchtest.Absent(t, mail.Descriptor(), cfg)
}
