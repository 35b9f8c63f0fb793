package app

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/metrics"
)

func TestBuildBlocklist(t *testing.T) {
	deps := func(c config.Blocklist) Deps {
		cfg := config.Default()
		cfg.Postfix.ConfigDir = t.TempDir() // no Postfix here
		c.Resolver = "127.0.0.1:53"         // nothing is queried: the watch is only built
		cfg.Blocklist = c
		return Deps{Config: cfg, Logger: slog.New(slog.DiscardHandler), Metrics: metrics.New(prometheus.NewRegistry())}
	}
	c := config.Default().Blocklist
	c.Enabled = config.SwitchOff
	c.IPs = []string{"192.0.2.1"}
	if ws, err := buildBlocklist(deps(c)); err != nil || len(ws) != 0 {
		t.Errorf("off: %v %v", ws, err)
	}
	c.Enabled = config.SwitchAuto
	if ws, err := buildBlocklist(deps(c)); err != nil || len(ws) != 1 || ws[0].Name() != "blocklist" {
		t.Errorf("auto with a configured address: %v %v", ws, err)
	}
	bad := filepath.Join(t.TempDir(), "zones.yaml")
	os.WriteFile(bad, []byte("zones:\n  - zone: dnsbl.sorbs.net\n    provider: sorbs\n    kind: ip\n"), 0o600)
	c.ZonesFile = bad
	if _, err := buildBlocklist(deps(c)); err == nil || !strings.Contains(err.Error(), "shut down") {
		t.Errorf("a dead zone in the site file: %v", err)
	}
}
