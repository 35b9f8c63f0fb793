package blocklist_test

import (
	"context"
	"testing"

	"github.com/vigie/vigie/internal/blocklist"
	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/watch/watchtest"
)

func TestConformance(t *testing.T) {
	cfg := config.Default()
	cfg.Postfix.ConfigDir = t.TempDir() // no Postfix here
	cfg.Blocklist.Resolver = "127.0.0.1:53"
	if ts, _, _ := blocklist.TargetsFromConfig(cfg.Blocklist).Resolve(context.Background()); len(ts) > 0 {
		t.Skipf("this machine has a public sending address (%v): the blocklist watch has something to check", ts[0])
	}
	watchtest.Absent(t, blocklist.Descriptor(), cfg)
}
