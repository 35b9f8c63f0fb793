// Package ui serves vigie over HTTP: the health check, Prometheus metrics
// and the JSON API (the dashboard pages join them later).
package ui

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
)

// Options configure a Server.
type Options struct {
	Store    store.Store
	Gatherer prometheus.Gatherer
	Logger   *slog.Logger
}

// Server holds the handlers.
type Server struct {
	o   Options
	log *slog.Logger
}

// New returns a server; mount Handler() on an http.Server.
func New(o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Server{o: o, log: o.Logger.With("component", "http")}
}

// Handler routes every endpoint.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.o.Gatherer, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelError),
	}))
	mux.HandleFunc("GET /api/v1/alerts", s.listAlerts)
	return secureHeaders(mux)
}

func secureHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err := s.o.Store.Ping(ctx); err != nil {
		s.log.Error("health check: store does not answer", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("store unavailable\n"))
		return
	}
	w.Write([]byte("ok\n"))
}

// apiAlert is the JSON form of an alert: the API's contract, kept apart
// from the domain type so either can change without breaking the other.
type apiAlert struct {
	ID           int64             `json:"id"`
	Key          string            `json:"key"`
	Watch        string            `json:"watch"`
	Rule         string            `json:"rule"`
	Subject      string            `json:"subject"`
	Severity     string            `json:"severity"`
	State        string            `json:"state"`
	Summary      string            `json:"summary"`
	Evidence     map[string]string `json:"evidence,omitempty"`
	FirstSeen    time.Time         `json:"first_seen"`
	LastSeen     time.Time         `json:"last_seen"`
	Count        int64             `json:"count"`
	AckedBy      string            `json:"acked_by,omitempty"`
	AckedAt      time.Time         `json:"acked_at,omitzero"`
	ResolvedAt   time.Time         `json:"resolved_at,omitzero"`
	IncidentID   int64             `json:"incident_id,omitempty"`
	Node         string            `json:"node,omitempty"`
	ResolveAfter float64           `json:"resolve_after_seconds"`
}

func toAPIAlert(a vigie.Alert) apiAlert {
	return apiAlert{ID: a.ID, Key: a.Key, Watch: a.Watch, Rule: a.Rule, Subject: a.Subject, Severity: a.Severity.String(),
		State: string(a.State), Summary: a.Summary, Evidence: a.Evidence, FirstSeen: a.FirstSeen, LastSeen: a.LastSeen,
		Count: a.Count, AckedBy: a.AckedBy, AckedAt: a.AckedAt, ResolvedAt: a.ResolvedAt, IncidentID: a.IncidentID,
		Node: a.Node, ResolveAfter: a.ResolveAfter.Seconds()}
}

// listAlerts serves GET /api/v1/alerts?state=firing&state=acknowledged&watch=mail&limit=100.
func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request) {
	q := store.AlertQuery{Watch: r.URL.Query().Get("watch")}
	for _, st := range r.URL.Query()["state"] {
		switch state := vigie.AlertState(st); state {
		case vigie.AlertFiring, vigie.AlertAcknowledged, vigie.AlertResolved:
			q.States = append(q.States, state)
		case "active":
			q.States = append(q.States, vigie.AlertFiring, vigie.AlertAcknowledged)
		default:
			writeError(w, http.StatusBadRequest, "state must be firing, acknowledged, resolved or active")
			return
		}
	}
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 10000 {
			writeError(w, http.StatusBadRequest, "limit must be a number from 1 to 10000")
			return
		}
		q.Limit = n
	}
	alerts, err := s.o.Store.ListAlerts(r.Context(), q)
	if err != nil {
		s.log.Error("listing alerts", "err", err)
		writeError(w, http.StatusInternalServerError, "cannot read alerts from the store")
		return
	}
	out := make([]apiAlert, 0, len(alerts))
	for _, a := range alerts {
		out = append(out, toAPIAlert(a))
	}
	writeJSON(w, http.StatusOK, map[string]any{"alerts": out})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v) // escapes <, > and & so hostile text is inert in a browser
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
