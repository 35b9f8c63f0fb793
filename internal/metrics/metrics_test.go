package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestSameNameSameCollector(t *testing.T) {
	reg := prometheus.NewRegistry()
	f := New(reg)
	opts := prometheus.CounterOpts{Name: "vigie_test_total", Help: "test"}
	f.Counter(opts).Inc()
	f.Counter(opts).Inc() // a reloaded watch asking again
	if got := testutil.ToFloat64(f.Counter(opts)); got != 2 {
		t.Errorf("counter = %v, want 2", got)
	}
	if n, err := testutil.GatherAndCount(reg, "vigie_test_total"); err != nil || n != 1 {
		t.Errorf("gathered %d series, %v", n, err)
	}
}

func TestTypeClashPanics(t *testing.T) {
	f := New(prometheus.NewRegistry())
	f.Counter(prometheus.CounterOpts{Name: "vigie_x", Help: "x"})
	defer func() {
		if recover() == nil {
			t.Error("no panic on a type clash")
		}
	}()
	f.Gauge(prometheus.GaugeOpts{Name: "vigie_x", Help: "x"})
}
