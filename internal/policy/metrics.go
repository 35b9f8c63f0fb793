package policy

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie/vigie/internal/metrics"
)

type serverMetrics struct {
	requests        *prometheus.CounterVec
	answers         map[string]prometheus.Counter
	failOpen        map[string]prometheus.Counter
	badRequests     map[string]prometheus.Counter
	connections     prometheus.Gauge
	refused         prometheus.Counter
	decision        prometheus.Histogram
	recordsDropped  prometheus.Counter
	findingsDropped prometheus.Counter
	suspended       prometheus.Gauge
	contained       *prometheus.CounterVec
	syncs           map[string]prometheus.Counter
	milterAnswers   *prometheus.CounterVec
}

var failOpenReasons = []string{"not-ready", "busy", "internal-error", "shared-state", "subjects-cap", "unknown-uid"}
var badReasons = []string{"framing", "request", "idle", "read"}

func newServerMetrics(m *metrics.Factory) *serverMetrics {
	s := &serverMetrics{
		requests: m.CounterVec(prometheus.CounterOpts{Name: "vigie_policy_requests_total",
			Help: "Policy requests answered, by action (DUNNO, HOLD, DEFER_IF_PERMIT, ...)."}, "action"),
		answers:     map[string]prometheus.Counter{},
		failOpen:    map[string]prometheus.Counter{},
		badRequests: map[string]prometheus.Counter{},
		connections: m.Gauge(prometheus.GaugeOpts{Name: "vigie_policy_connections",
			Help: "Postfix connections open to the policy server."}),
		refused: m.Counter(prometheus.CounterOpts{Name: "vigie_policy_connections_refused_total",
			Help: "Connections closed at once because max_connections were open."}),
		decision: m.Histogram(prometheus.HistogramOpts{Name: "vigie_policy_decision_seconds",
			Help:    "Time to decide one request (reading and writing excluded).",
			Buckets: []float64{1e-6, 5e-6, 2e-5, 1e-4, 5e-4, 1e-3, 1e-2, 0.1}}),
		recordsDropped: m.Counter(prometheus.CounterOpts{Name: "vigie_policy_records_dropped_total",
			Help: "Queue id records not written (writer behind, or a minute's record full)."}),
		findingsDropped: m.Counter(prometheus.CounterOpts{Name: "vigie_policy_findings_dropped_total",
			Help: "Over-limit findings not emitted because the emitter was behind."}),
		suspended: m.Gauge(prometheus.GaugeOpts{Name: "vigie_policy_suspended_accounts",
			Help: "Accounts suspended, as last read from the store."}),
		contained: m.CounterVec(prometheus.CounterOpts{Name: "vigie_policy_containment_total",
			Help: "Compromise alerts handled, by outcome (suspended, advised, allowed, error)."}, "outcome"),
		milterAnswers: m.CounterVec(prometheus.CounterOpts{Name: "vigie_policy_milter_answers_total",
			Help: "Messages the milter decided about, by path (smtp, local) and verdict (accept, hold, tempfail)."}, "path", "verdict"),
	}
	sy := m.CounterVec(prometheus.CounterOpts{Name: "vigie_policy_shared_syncs_total",
		Help: "Exchanges of counters with the shared store (several nodes), by result (ok, error)."}, "result")
	s.syncs = map[string]prometheus.Counter{"ok": sy.WithLabelValues("ok"), "error": sy.WithLabelValues("error")}
	fo := m.CounterVec(prometheus.CounterOpts{Name: "vigie_policy_fail_open_total",
		Help: "Requests answered DUNNO because vigie could not decide in time, or (shared-state) without the other nodes' counts, by reason."}, "reason")
	for _, r := range failOpenReasons {
		s.failOpen[r] = fo.WithLabelValues(r)
	}
	br := m.CounterVec(prometheus.CounterOpts{Name: "vigie_policy_bad_requests_total",
		Help: "Malformed requests or connections, by reason (framing, request, idle, read)."}, "reason")
	for _, r := range badReasons {
		s.badRequests[r] = br.WithLabelValues(r)
	}
	for _, a := range append([]string{"DUNNO"}, "DEFER_IF_PERMIT", "HOLD", "REJECT", "DEFER", "DISCARD") {
		s.answers[a] = s.requests.WithLabelValues(a)
	}
	return s
}

func (s *serverMetrics) answered(action string) {
	if c, ok := s.answers[action]; ok {
		c.Inc()
		return
	}
	s.requests.WithLabelValues(action).Inc()
}
