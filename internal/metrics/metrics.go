// Package metrics hands out Prometheus collectors that survive a config
// reload: a watch rebuilt on SIGHUP asks for its counters again and gets the
// ones already registered, so no series restarts from zero and the registry
// never sees a duplicate.
package metrics

import (
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Factory creates or returns collectors by name. The zero value is not
// usable; call New.
type Factory struct {
	reg prometheus.Registerer
	mu  sync.Mutex
	got map[string]prometheus.Collector
}

// New returns a factory registering on reg.
func New(reg prometheus.Registerer) *Factory {
	return &Factory{reg: reg, got: map[string]prometheus.Collector{}}
}

func get[C prometheus.Collector](f *Factory, name string, make func() C) C {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.got[name]; ok {
		if typed, ok := c.(C); ok {
			return typed
		}
		panic(fmt.Sprintf("metric %s requested with two different types", name))
	}
	c := make()
	f.reg.MustRegister(c)
	f.got[name] = c
	return c
}

func (f *Factory) Counter(o prometheus.CounterOpts) prometheus.Counter {
	return get(f, o.Name, func() prometheus.Counter { return prometheus.NewCounter(o) })
}

func (f *Factory) CounterVec(o prometheus.CounterOpts, labels ...string) *prometheus.CounterVec {
	return get(f, o.Name, func() *prometheus.CounterVec { return prometheus.NewCounterVec(o, labels) })
}

func (f *Factory) Gauge(o prometheus.GaugeOpts) prometheus.Gauge {
	return get(f, o.Name, func() prometheus.Gauge { return prometheus.NewGauge(o) })
}

func (f *Factory) GaugeVec(o prometheus.GaugeOpts, labels ...string) *prometheus.GaugeVec {
	return get(f, o.Name, func() *prometheus.GaugeVec { return prometheus.NewGaugeVec(o, labels) })
}

func (f *Factory) Histogram(o prometheus.HistogramOpts) prometheus.Histogram {
	return get(f, o.Name, func() prometheus.Histogram { return prometheus.NewHistogram(o) })
}

func (f *Factory) HistogramVec(o prometheus.HistogramOpts, labels ...string) *prometheus.HistogramVec {
	return get(f, o.Name, func() *prometheus.HistogramVec { return prometheus.NewHistogramVec(o, labels) })
}
