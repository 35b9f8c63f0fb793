// Package app wires vigie together and runs it: the store, the alert
// pipeline, the HTTP server and the watches, each watch supervised on its
// own. Signals stay in main, so tests start and stop an App directly.
package app

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"reflect"
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/vigie/vigie/internal/alert"
	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/incident"
	"github.com/vigie/vigie/internal/metrics"
	"github.com/vigie/vigie/internal/notify"
	"github.com/vigie/vigie/internal/notify/setup"
	"github.com/vigie/vigie/internal/selfwatch"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/ui"
	"github.com/vigie/vigie/internal/vigie"
)

// Options configure an App.
type Options struct {
	Config   *config.Config
	DataDir  string
	Logger   *slog.Logger
	LogLevel *slog.LevelVar // set from the config at start and on reload; may be nil
	Registry *prometheus.Registry
	Now      func() time.Time
	Version  string
	// Builders replaces the built-in watches (tests).
	Builders []Builder
	// RestartBackoff is the first pause before a failed watch restarts.
	RestartBackoff time.Duration
	// StopTimeout bounds the whole shutdown (default 4s, under systemd's
	// and the 5 s promise).
	StopTimeout time.Duration
	// Mail holds and releases an account's mail from the dashboard (nil:
	// the buttons are disabled).
	Mail ui.MailActions
}

// App is a running vigie.
type App struct {
	o        Options
	log      *slog.Logger
	store    store.Store
	pipeline *alert.Pipeline
	metrics  *metrics.Factory
	ready    chan struct{}
	addr     net.Addr
	// metricsAddr is where http.metrics_listen listens.
	metricsAddr net.Addr

	mu      sync.Mutex
	cfg     *config.Config
	watches []*supervised
	runCtx  context.Context
	self    *selfwatch.Watch

	watchUp       *prometheus.GaugeVec
	watchRestarts *prometheus.CounterVec
	reloads       *prometheus.CounterVec
}

// New opens the store and builds the pipeline. Nothing runs until Run.
func New(ctx context.Context, o Options) (*App, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Builders == nil {
		o.Builders = builtinBuilders()
	}
	if o.RestartBackoff <= 0 {
		o.RestartBackoff = time.Second
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = 4 * time.Second
	}
	cfg := o.Config
	if cfg.Node == "" {
		cfg.Node, _ = os.Hostname()
	}
	if o.LogLevel != nil {
		o.LogLevel.Set(parseLevel(cfg.Log.Level))
	}
	if err := config.EnsureDataDir(o.DataDir); err != nil {
		return nil, err
	}
	db, err := OpenStore(ctx, cfg, o.DataDir, o.Now, o.Logger)
	if err != nil {
		return nil, err
	}
	if o.Mail == nil {
		o.Mail = newMailActions(cfg, db)
	}
	m := metrics.New(o.Registry)
	o.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.GaugeVec(prometheus.GaugeOpts{Name: "vigie_build_info", Help: "Always 1; labels say which vigie runs."},
		"version", "goversion").WithLabelValues(o.Version, runtime.Version()).Set(1)

	a := &App{
		o: o, log: o.Logger, store: db, metrics: m, cfg: cfg, ready: make(chan struct{}),
		watchUp: m.GaugeVec(prometheus.GaugeOpts{Name: "vigie_watch_up",
			Help: "1 while a watch runs, 0 while it waits to restart after a failure."}, "watch"),
		watchRestarts: m.CounterVec(prometheus.CounterOpts{Name: "vigie_watch_restarts_total",
			Help: "Times a watch failed and was restarted."}, "watch"),
		reloads: m.CounterVec(prometheus.CounterOpts{Name: "vigie_config_reloads_total",
			Help: "Configuration reloads, by result (ok, error)."}, "result"),
	}
	built, err := setup.Build(cfg, o.Logger)
	if err != nil {
		db.Close()
		return nil, err
	}
	if built.Dispatch.IDPrefix, err = messagePrefix(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	a.pipeline = alert.New(built.Options(alert.Options{
		Store: db, Logger: o.Logger, Metrics: m, Now: o.Now, Node: cfg.Node,
		ResolveAfter: cfg.Alerts.ResolveAfter, NotifyTimeout: cfg.Alerts.NotifyTimeout,
		// Notifications tell each incident as its report does, with a
		// link to its page (http.external_url).
		Brief: func(ctx context.Context, in vigie.Incident) (*notify.Brief, error) {
			return incident.Brief(ctx, db, in, o.Now(), cfg.HTTP.DashboardURL())
		},
	}))
	// The self-watch exists from the start: /healthz answers from it
	// while the watches are being built.
	a.self = a.newSelfWatch(cfg)
	return a, nil
}

// outboxKeep is how long delivered notifications stay in the outbox, for
// looking into what was sent.
const outboxKeep = 7 * 24 * time.Hour

// messagePrefix is the start of every notification message id, made once
// per store and kept in it: ids stay the same across restarts (a re-sent
// message is recognised) and differ from another installation's.
func messagePrefix(ctx context.Context, db store.Store) (string, error) {
	const watch, key = "notify", "message_prefix"
	b, err := db.GetState(ctx, watch, key)
	if err == nil && len(b) > 0 {
		return string(b), nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", err
	}
	var r [6]byte
	rand.Read(r[:])
	p := "vigie-" + hex.EncodeToString(r[:])
	return p, db.PutState(ctx, watch, key, []byte(p))
}

func parseLevel(s string) slog.Level {
	var l slog.Level
	l.UnmarshalText([]byte(s)) // validated with the config
	return l
}

// Store is the app's store, for commands that run beside the daemon's code.
func (a *App) Store() store.Store { return a.store }

// Pipeline is the app's alert pipeline.
func (a *App) Pipeline() *alert.Pipeline { return a.pipeline }

// Ready is closed once the HTTP server listens and the watches started.
func (a *App) Ready() <-chan struct{} { return a.ready }

// HTTPAddr is where the HTTP server listens (nil when it is off); valid
// after Ready.
func (a *App) HTTPAddr() net.Addr { return a.addr }

// Run runs everything until ctx is done, then stops within StopTimeout and
// closes the store. It returns an error only if vigie could not start.
func (a *App) Run(ctx context.Context) error {
	defer a.store.Close()
	cfg := a.config()
	var srv *http.Server
	if cfg.HTTP.Listen != "" {
		ln, err := net.Listen("tcp", cfg.HTTP.Listen)
		if err != nil {
			return fmt.Errorf("http: %w", err)
		}
		a.addr = ln.Addr()
		if cfg.HTTP.TLSCert != "" {
			tc, err := ui.TLSConfig(cfg.HTTP.TLSCert, cfg.HTTP.TLSKey, nil)
			if err != nil {
				ln.Close()
				return err
			}
			ln = tls.NewListener(ln, tc)
		}
		srv = &http.Server{
			Handler:           a.uiServer(cfg).Handler(),
			ReadHeaderTimeout: 5 * time.Second,
			ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
		}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.log.Error("http server stopped", "err", err)
			}
		}()
		a.log.Info("http listening", "addr", ln.Addr().String(), "tls", cfg.HTTP.TLSCert != "", "login", cfg.HTTP.LoginRequired())
	}

	msrv, err := a.serveMetrics(cfg)
	if err != nil {
		if srv != nil {
			srv.Close()
		}
		return err
	}
	if msrv != nil {
		defer msrv.Close()
	}

	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); a.pipeline.Run(bg, cfg.Alerts.CheckInterval, time.Second) }()
	go func() { defer wg.Done(); a.housekeep(bg, cfg.Store.SampleRetention) }()
	go func() { defer wg.Done(); a.heartbeat(bg, cfg.Heartbeat) }()

	watches, err := a.buildWatches(cfg)
	if err != nil {
		stopBG()
		wg.Wait()
		if srv != nil {
			srv.Close()
		}
		return err
	}
	a.mu.Lock()
	a.runCtx = ctx
	a.watches = a.startAll(ctx, append(watches, Watch(a.self)))
	a.mu.Unlock()
	a.log.Info("vigie running", "version", a.o.Version, "node", cfg.Node, "data", a.o.DataDir, "watches", len(watches))
	close(a.ready)

	<-ctx.Done()
	deadline := time.Now().Add(a.o.StopTimeout)
	a.log.Info("stopping")
	a.mu.Lock()
	late := stopAll(a.watches, deadline.Add(-time.Second))
	a.watches = nil
	a.mu.Unlock()
	if len(late) > 0 {
		a.log.Warn("watches did not stop in time", "watches", late)
	}
	if srv != nil {
		sctx, cancel := context.WithDeadline(context.Background(), deadline.Add(-500*time.Millisecond))
		srv.Shutdown(sctx)
		cancel()
	}
	stopBG()
	wg.Wait()
	a.log.Info("stopped")
	return nil
}

func (a *App) config() *config.Config {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cfg
}

func (a *App) buildWatches(cfg *config.Config) ([]Watch, error) {
	var out []Watch
	for _, b := range a.o.Builders {
		ws, err := b(Deps{Config: cfg, DataDir: a.o.DataDir, Store: a.store, Sink: a.pipeline,
			Logger: a.log, Metrics: a.metrics, Now: a.o.Now})
		if err != nil {
			return nil, err
		}
		out = append(out, ws...)
	}
	return out, nil
}

func (a *App) startAll(ctx context.Context, ws []Watch) []*supervised {
	out := make([]*supervised, 0, len(ws))
	for _, w := range ws {
		a.log.Info("watch starting", "watch", w.Name())
		// The series exists from the start at 0, so rate() and alert rules
		// see the first restart (Prometheus cannot see a counter born at 1).
		a.watchRestarts.WithLabelValues(w.Name())
		out = append(out, a.supervise(ctx, w))
	}
	return out
}

// Reload applies a new, already validated config: the log level and the
// watches change at once; settings that need a restart (store, HTTP, data
// directory, alerts, notifiers, node) are logged and left as they were. If
// the new watches cannot be built, the old ones keep running.
func (a *App) Reload(cfg *config.Config) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.runCtx == nil {
		return errors.New("reload before start")
	}
	if cfg.Node == "" {
		cfg.Node = a.cfg.Node
	}
	ws, err := a.buildWatches(cfg)
	if err != nil {
		a.reloads.WithLabelValues("error").Inc()
		return fmt.Errorf("reload: %w; the previous configuration keeps running", err)
	}
	for _, section := range []struct {
		name     string
		old, new any
	}{
		{"data_dir", a.cfg.DataDir, cfg.DataDir}, {"node", a.cfg.Node, cfg.Node}, {"http", a.cfg.HTTP, cfg.HTTP},
		{"store", a.cfg.Store, cfg.Store}, {"alerts", a.cfg.Alerts, cfg.Alerts}, {"notify", a.cfg.Notify, cfg.Notify},
	} {
		if !reflect.DeepEqual(section.old, section.new) {
			a.log.Warn("this change takes effect at the next restart", "section", section.name)
		}
	}
	if late := stopAll(a.watches, time.Now().Add(a.o.StopTimeout)); len(late) > 0 {
		a.log.Warn("watches did not stop in time for the reload", "watches", late)
	}
	if a.o.LogLevel != nil {
		a.o.LogLevel.Set(parseLevel(cfg.Log.Level))
	}
	a.watches = a.startAll(a.runCtx, append(ws, Watch(a.self)))
	// Keep what actually runs, so the next reload compares against it.
	applied := *cfg
	applied.DataDir, applied.Node, applied.HTTP = a.cfg.DataDir, a.cfg.Node, a.cfg.HTTP
	applied.Store, applied.Alerts, applied.Notify = a.cfg.Store, a.cfg.Alerts, a.cfg.Notify
	a.cfg = &applied
	a.reloads.WithLabelValues("ok").Inc()
	a.log.Info("configuration reloaded", "watches", len(ws))
	return nil
}

// housekeep drops time series points older than the retention, and
// outbox rows delivered more than a week ago, hourly.
func (a *App) housekeep(ctx context.Context, retention time.Duration) {
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		n, err := a.store.DeleteSamplesBefore(ctx, a.o.Now().Add(-retention))
		if err != nil && ctx.Err() == nil {
			a.log.Error("dropping old samples", "err", err)
		} else if n > 0 {
			a.log.Debug("dropped old samples", "count", n)
		}
		if _, err := a.store.DeleteOutboxBefore(ctx, a.o.Now().Add(-outboxKeep)); err != nil && ctx.Err() == nil {
			a.log.Error("dropping delivered notifications from the outbox", "err", err)
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}
