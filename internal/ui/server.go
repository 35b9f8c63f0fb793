// Package ui serves vigie over HTTP: the dashboard pages (server-rendered
// from embedded templates), the JSON API behind the same authentication,
// Prometheus metrics and the health check.
package ui

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie/vigie/internal/alert"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
	"github.com/vigie/vigie/internal/watches"
)

// Pipeline is what the dashboard needs of the alert pipeline
// (*alert.Pipeline): resolving goes through Emit, like a watch's own
// "resolved" finding, so incidents and timelines stay consistent.
type Pipeline interface {
	Emit(ctx context.Context, f vigie.Finding) error
	Acknowledge(ctx context.Context, alertID int64, actor string) (vigie.Alert, error)
	AcknowledgeIncident(ctx context.Context, id int64, actor string) (vigie.Incident, error)
	ResolveIncident(ctx context.Context, id int64, actor, note string) (vigie.Incident, error)
	AddNote(ctx context.Context, id int64, actor, text string) error
	RecordAction(ctx context.Context, a alert.Action) (int64, error)
}

// MailActions holds and releases the queued mail of one account (the
// policy and mail watches implement it; the app wires it). Nil: the mail
// page shows the buttons disabled.
type MailActions interface {
	// Hold suspends account and holds its queued mail; Release lifts the
	// suspension and releases its held mail. Both act as actor and record
	// themselves (audit log, and the timeline of the incident of alertID,
	// or of the open incidents about the account when it is 0).
	Hold(ctx context.Context, actor, account string, alertID int64) error
	Release(ctx context.Context, actor, account string, alertID int64) error
	// Held lists the accounts whose mail is held or suspended.
	Held(ctx context.Context) ([]string, error)
}

// Options configure a Server.
type Options struct {
	Store    store.Store
	Gatherer prometheus.Gatherer
	Logger   *slog.Logger
	Pipeline Pipeline
	Mail     MailActions
	// Login requires a user, password and TOTP code (config
	// http.LoginRequired()).
	Login bool
	// SecureCookies marks cookies Secure (TLS here or at the proxy).
	SecureCookies bool
	// ReverseProxy takes the client address from X-Forwarded-For.
	ReverseProxy bool
	// MetricsToken (http.metrics_token), when set, lets a scraper that
	// sends it as a bearer token read /metrics without a session.
	MetricsToken string
	// MetricsListener says http.metrics_listen serves /metrics apart: the
	// main listener then makes no exception for local scrapers.
	MetricsListener bool
	SessionLifetime time.Duration
	Now             func() time.Time
	// Health says, for /healthz, whether vigie sees everything it should,
	// with a JSON body per watch (nil: only the store is checked).
	Health func() (body any, ok bool)
	// Ready says, for /readyz, whether vigie has started (nil: always).
	Ready func() bool
	// Watches are the watches vigie knows (watches.All() when nil): their
	// pages, series and panels; each is shown on the overview even before
	// it reports.
	Watches watch.List
	// Running says which watches the app runs: true while one runs,
	// false while it waits to restart after a failure; a watch not in the
	// map does not run. Nil: none runs.
	Running func() map[string]bool
}

// Server holds the handlers.
type Server struct {
	o         Options
	log       *slog.Logger
	users     *Users
	sessions  *sessions
	limiter   *limiter
	origin    *http.CrossOriginProtection
	csrfKey   []byte
	hashSlots chan struct{}
	pages     map[string]*pageTemplate
}

// Login rate limit: 5 failures per address or user name lock it for 15 min.
const (
	loginMaxFailures = 5
	loginWindow      = 15 * time.Minute
)

// New returns a server; mount Handler() on an http.Server.
func New(o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SessionLifetime <= 0 {
		o.SessionLifetime = 12 * time.Hour
	}
	if o.Watches == nil {
		o.Watches = watches.All()
	}
	key := make([]byte, 32)
	rand.Read(key)
	s := &Server{
		o: o, log: o.Logger.With("component", "http"),
		users:     &Users{Store: o.Store, Now: o.Now},
		sessions:  newSessions(o.SessionLifetime, o.Now),
		limiter:   newLimiter(loginMaxFailures, loginWindow, o.Now),
		origin:    http.NewCrossOriginProtection(),
		csrfKey:   key,
		hashSlots: make(chan struct{}, 2),
	}
	s.pages = mustParsePages(o.Watches, s.holdAccount)
	return s
}

// Handler routes every endpoint.
func (s *Server) Handler() http.Handler {
	open := http.NewServeMux()
	open.HandleFunc("GET /healthz", s.healthz)
	open.HandleFunc("GET /readyz", s.readyz)
	open.Handle("GET /static/", staticHandler())
	open.HandleFunc("GET /login", s.loginPage)
	open.HandleFunc("POST /login", s.loginForm)
	open.HandleFunc("POST /api/v1/login", s.apiLogin)

	g := http.NewServeMux()
	metricsHandler := s.metricsHandler()
	g.Handle("GET /metrics", metricsHandler)
	// A Prometheus cannot log in with a TOTP code: see scrapeAllowed. The
	// series carry no account, domain or address.
	open.Handle("GET /metrics", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.o.Login && s.scrapeAllowed(r) {
			metricsHandler.ServeHTTP(w, r)
			return
		}
		s.guard(g).ServeHTTP(w, r)
	}))
	for _, p := range []struct {
		page, path string
		data       dataFunc
	}{
		{"overview", "/", s.overviewData},
		{"incidents", "/incidents", s.incidentsData},
		{"incident", "/incidents/{id}", s.incidentData},
		{"alerts", "/alerts", s.alertsData},
		{"alert", "/alerts/{id}", s.alertData},
		{"watch", "/watches/{name}", s.watchData},
		{"audit", "/audit", s.auditData},
	} {
		pattern := p.path
		if pattern == "/" {
			pattern = "/{$}"
			g.Handle("GET /api/v1/overview", s.api(p.data))
		} else {
			g.Handle("GET /api/v1"+p.path, s.api(p.data))
		}
		g.Handle("GET "+pattern, s.page(p.page, p.data))
	}
	g.Handle("GET /api/v1/series", s.api(s.seriesData))
	for _, dl := range s.o.Watches.Downloads() {
		g.HandleFunc("GET /incidents/{id}/"+dl.Name, s.download(dl))
		g.HandleFunc("GET /api/v1/incidents/{id}/"+dl.Name, s.download(dl))
	}
	g.HandleFunc("GET /api/v1/session", s.sessionInfo)
	for _, a := range []struct {
		path string
		do   actionFunc
	}{
		{"/incidents/{id}/acknowledge", s.ackIncident},
		{"/incidents/{id}/resolve", s.resolveIncident},
		{"/incidents/{id}/note", s.noteIncident},
		{"/alerts/{id}/acknowledge", s.ackAlert},
		{"/mail/hold", s.mailHold},
		{"/mail/release", s.mailRelease},
	} {
		g.Handle("POST "+a.path, s.action(a.do))
		g.Handle("POST /api/v1"+a.path, s.action(a.do))
	}
	g.HandleFunc("POST /logout", s.logout)
	g.HandleFunc("POST /api/v1/logout", s.logout)
	open.Handle("/", s.guard(g))
	return secureHeaders(open)
}

// csp allows this origin's own style sheet, script and images, nothing
// inline: even if some text escaped escaping, it could not run.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func secureHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Referrer-Policy", "same-origin")
		w.Header().Set("Content-Security-Policy", csp)
		w.Header().Set("Cross-Origin-Opener-Policy", "same-origin")
		w.Header().Set("Cross-Origin-Resource-Policy", "same-origin")
		if r.TLS != nil {
			w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		}
		h.ServeHTTP(w, r)
	})
}

// healthz is for monitors: 503 when the store does not answer or vigie
// is blind somewhere (a watch down, a log that stopped advancing, a
// notifier failing), with a JSON body per watch (up, lag, last success)
// saying which.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Cache-Control", "no-store")
	if err := s.o.Store.Ping(ctx); err != nil {
		s.log.Error("health check: store does not answer", "err", err)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("store unavailable\n"))
		return
	}
	if s.o.Health == nil {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
		return
	}
	body, ok := s.o.Health()
	w.Header().Set("Content-Type", "application/json")
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	json.NewEncoder(w).Encode(body)
}

// readyz is for load balancers: 200 once vigie has started and its store
// answers; a blind watch does not take the dashboard out of rotation.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if s.o.Ready != nil && !s.o.Ready() {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("starting\n"))
		return
	}
	if err := s.o.Store.Ping(ctx); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("store unavailable\n"))
		return
	}
	w.Write([]byte("ready\n"))
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
