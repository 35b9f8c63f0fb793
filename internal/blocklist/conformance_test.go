package blocklist_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/blocklist"
	"github.com/vigie/vigie/internal/blocklist/knottest"
	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/watch/watchtest"
)

func TestConformance(t *testing.T) {
	t.Run("absent", func(t *testing.T) {
		cfg := config.Default()
		cfg.Postfix.ConfigDir = t.TempDir() // no Postfix here
		cfg.Blocklist.Resolver = "127.0.0.1:53"
		if ts, _, _ := blocklist.TargetsFromConfig(cfg.Blocklist).Resolve(context.Background()); len(ts) > 0 {
			t.Skipf("this machine has a public sending address (%v): the blocklist watch has something to check", ts[0])
		}
		watchtest.Absent(t, blocklist.Descriptor(), cfg)
	})
	t.Run("run", func(t *testing.T) {
		if testing.Short() {
			t.Skip("starts knotd, and the watch's first round waits a minute")
		}
		// Test lists served by knotd on loopback, the resolver vigie asks;
		// one of our addresses is listed on good.bl.test, whose data says
		// how to get off it.
		k := knottest.Start(t)
		zones := filepath.Join(t.TempDir(), "zones.yaml")
		if err := os.WriteFile(zones, knottest.Zones(), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg := config.Default()
		cfg.Postfix.ConfigDir = t.TempDir()
		cfg.Blocklist.Enabled = config.SwitchOn
		cfg.Blocklist.Resolver, cfg.Blocklist.Timeout = k.Addr, 2*time.Second
		cfg.Blocklist.ZonesFile = zones
		cfg.Blocklist.IPs = []string{"203.0.113.7"}
		watchtest.Run(t, blocklist.Descriptor(), cfg, 90*time.Second)
	})
}
