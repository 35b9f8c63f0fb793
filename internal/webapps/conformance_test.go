package webapps

import (
	"os"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/watch/watchtest"
)

func TestConformance(t *testing.T) {
	t.Run("absent", func(t *testing.T) {
		for _, p := range defaultAccessLogs() {
			if _, err := os.Stat(p); err == nil {
				t.Skipf("%s exists on this machine: the web watch has something to watch under auto", p)
			}
		}
		cfg := config.Default()
		cfg.Web.Roots = []string{t.TempDir() + "/www"}
		watchtest.Absent(t, Descriptor(), cfg)
	})
	t.Run("run", func(t *testing.T) {
		// The test sites, scanned by the watch as the daemon runs it.
		cfg := config.Default()
		cfg.Web.Enabled = config.SwitchOn
		cfg.Web.Roots = []string{copySites(t, time.Now().Add(-24*time.Hour))}
		watchtest.Run(t, Descriptor(), cfg, 20*time.Second)
	})
}
