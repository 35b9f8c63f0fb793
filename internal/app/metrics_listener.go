package app

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/ui"
)

// uiServer is the dashboard, API, /metrics and /healthz of cfg.
func (a *App) uiServer(cfg *config.Config) *ui.Server {
	return ui.New(ui.Options{Store: a.store, Gatherer: a.o.Registry, Logger: a.log, Pipeline: a.pipeline, Mail: a.o.Mail,
		Login: cfg.HTTP.LoginRequired(), SecureCookies: cfg.HTTP.TLSCert != "" || cfg.HTTP.ReverseProxy,
		ReverseProxy: cfg.HTTP.ReverseProxy, SessionLifetime: cfg.HTTP.SessionLifetime, Now: a.o.Now,
		MetricsToken: cfg.HTTP.MetricsToken.Value(), MetricsListener: cfg.HTTP.MetricsListen != "",
		Health: a.health, Ready: a.isReady, Watches: a.o.Watches, Running: a.running})
}

// serveMetrics starts http.metrics_listen, the listener that serves
// /metrics only (to a Prometheus on another machine, with the bearer
// token), over TLS when vigie has a certificate. Nil when not configured.
func (a *App) serveMetrics(cfg *config.Config) (*http.Server, error) {
	if cfg.HTTP.MetricsListen == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", cfg.HTTP.MetricsListen)
	if err != nil {
		return nil, fmt.Errorf("http.metrics_listen: %w", err)
	}
	a.metricsAddr = ln.Addr()
	if cfg.HTTP.TLSCert != "" {
		tc, err := ui.TLSConfig(cfg.HTTP.TLSCert, cfg.HTTP.TLSKey, nil)
		if err != nil {
			ln.Close()
			return nil, err
		}
		ln = tls.NewListener(ln, tc)
	}
	srv := &http.Server{
		Handler:           a.uiServer(cfg).MetricsHandler(),
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("metrics listener stopped", "err", err)
		}
	}()
	a.log.Info("metrics listening", "addr", ln.Addr().String(), "tls", cfg.HTTP.TLSCert != "", "token", cfg.HTTP.MetricsToken.IsSet())
	return srv, nil
}

// MetricsAddr is where http.metrics_listen listens (nil when it is off);
// valid after Ready.
func (a *App) MetricsAddr() net.Addr { return a.metricsAddr }
