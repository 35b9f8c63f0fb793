package policy_test

import (
	"testing"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/policy"
	"github.com/vigie/vigie/internal/watch/watchtest"
)

func TestConformance(t *testing.T) {
	cfg := config.Default()
	cfg.Postfix.ConfigDir = t.TempDir() // no Postfix here
	watchtest.Absent(t, policy.Descriptor(), cfg)
}
