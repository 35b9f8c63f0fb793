package blocklist

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/blocklist/knottest"
)

func testZones(t *testing.T) []*Zone {
	t.Helper()
	zs, err := ParseData("zones-test.yaml", knottest.Zones())
	if err != nil {
		t.Fatal(err)
	}
	return zs
}

func zoneNamed(t *testing.T, zs []*Zone, name string) *Zone {
	t.Helper()
	for _, z := range zs {
		if z.Zone == name {
			return z
		}
	}
	t.Fatalf("no zone %s", name)
	return nil
}

func mustTargets(t *testing.T, names ...string) []Target {
	t.Helper()
	var out []Target
	for _, n := range names {
		tg, err := ParseTarget(n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tg)
	}
	return out
}

func checkerFor(k *knottest.Knot, zs ...*Zone) *Checker {
	return &Checker{Zones: zs, Resolver: &Resolver{Servers: []string{k.Addr}, Timeout: 2 * time.Second, Attempts: 1}}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func hasAll(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}
