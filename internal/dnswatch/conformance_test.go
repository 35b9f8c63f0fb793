package dnswatch_test

import (
	"context"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/dnswatch"
	"github.com/vigie/vigie/internal/dnswatch/knottest"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/watch/watchtest"
)

func TestConformance(t *testing.T) {
	t.Run("absent", func(t *testing.T) {
		watchtest.Absent(t, dnswatch.Descriptor(), config.Default())
	})
	t.Run("run", func(t *testing.T) {
		if testing.Short() {
			t.Skip("starts knotd")
		}
		// A registry and the domains' servers (knotd on loopback); once
		// the watch has swept the delegations (its baseline), one domain's
		// NS are moved to a rogue set at the registry.
		l := knottest.NewLab(t, []string{"alpha.", "delta."}, 4)
		cfg := config.Default()
		cfg.DNS.Domains = l.Domains
		cfg.DNS.Parents = l.Parents()
		cfg.DNS.ChildPort = l.Port()
		cfg.DNS.ParentInterval, cfg.DNS.RecordsInterval, cfg.DNS.Timeout = 50*time.Millisecond, time.Hour, time.Second
		cfg.DNS.RDAP.Enabled = false // no registry RDAP server on loopback
		watchtest.RunWith(t, dnswatch.Descriptor(), cfg, 30*time.Second, func(ctx context.Context, st store.Store) {
			for ctx.Err() == nil {
				if ss, _ := st.Samples(ctx, string(dnswatch.SeriesSweepSeconds), "delegation", time.Time{}, time.Now().Add(time.Hour)); len(ss) > 0 {
					l.Hijacked[l.Domains[len(l.Domains)-1]] = true
					l.Publish()
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	})
}
