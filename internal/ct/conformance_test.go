package ct_test

import (
	"testing"
	"time"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/ct"
	"github.com/vigie/vigie/internal/watch/watchtest"
)

func TestConformance(t *testing.T) {
	t.Run("absent", func(t *testing.T) {
		watchtest.Absent(t, ct.Descriptor(), config.Default())
	})
	t.Run("run", func(t *testing.T) {
		// A test log (RFC 6962, on loopback) holding, among certificates
		// for other names, a precertificate and its certificate for a
		// watched domain; the watch reads it from the beginning.
		l, url := newLog(t)
		e := newEnv(t)
		e.issue(t, l, "shop.unrelated.example")
		e.issue(t, l, "www.example.com", "example.com")
		e.issue(t, l, "mail.other.example")
		cfg := config.Default()
		cfg.CT = ctConfig(url, l.PubB64, "example.com")
		watchtest.Run(t, ct.Descriptor(), cfg, 20*time.Second)
	})
}
