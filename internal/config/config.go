// Package config reads vigie's YAML configuration: every key has a
// default, unknown keys are errors, and every error names the file, the
// line and the key, and says what was expected.
package config

import (
	"net"
	"strings"
	"time"
)

// Config is the whole configuration. Each watch adds its own section.
type Config struct {
	// DataDir holds the SQLite store and other state. Empty: see DataDir().
	DataDir string `yaml:"data_dir"`
	// Node names this vigie in findings and, with several nodes, in the
	// shared store. Empty: the host name.
	Node string `yaml:"node"`
	Log  Log    `yaml:"log"`
	HTTP HTTP   `yaml:"http"`
	// Postfix is where Postfix's configuration is, for every watch.
	Postfix PostfixSite `yaml:"postfix"`
	Store   Store       `yaml:"store"`
	Alerts  Alerts      `yaml:"alerts"`
	Notify  Notify      `yaml:"notify"`
	// Self is vigie watching itself; Heartbeat its outbound ping.
	Self      Self      `yaml:"self"`
	Heartbeat Heartbeat `yaml:"heartbeat"`

	Blocklist Blocklist `yaml:"blocklist"`

	Web    Web    `yaml:"web"`
	CT     CT     `yaml:"ct"`
	Mail   Mail   `yaml:"mail"`
	Policy Policy `yaml:"policy"`
	DNS    DNS    `yaml:"dns"`

	// Warnings are what Parse found that works but should change
	// (deprecated keys), for the log and 'vigie config check'.
	Warnings []Warning `yaml:"-"`
}

// Log configures vigie's own log.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
}

// HTTP configures the dashboard, the API, metrics and the health endpoint.
type HTTP struct {
	// Listen is host:port. A loopback address with no TLS and no
	// reverse proxy serves without login; anything else requires TLS (or
	// reverse_proxy) and logs users in with a password and a TOTP code.
	// Empty turns the HTTP server off.
	Listen string `yaml:"listen"`
	// TLSCert and TLSKey are PEM files; both or neither.
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// ReverseProxy says a TLS-terminating proxy (nginx) forwards to
	// Listen: vigie then serves plain HTTP but requires login, sets Secure
	// cookies and takes the client address from X-Forwarded-For.
	ReverseProxy bool `yaml:"reverse_proxy"`
	// SessionLifetime is how long a login lasts.
	SessionLifetime time.Duration `yaml:"session_lifetime"`
	// MetricsToken lets a Prometheus on another machine scrape /metrics
	// without a login: it sends Authorization: Bearer TOKEN (Prometheus's
	// authorization.credentials_file). A Secret: {file: PATH} keeps it out
	// of this file.
	MetricsToken Secret `yaml:"metrics_token"`
	// MetricsListen is a second listener (host:port) that serves /metrics
	// only. Any address but loopback needs metrics_token. When set, the
	// main listener no longer serves /metrics to local scrapers without a
	// login (a local proxy could not be told from them).
	MetricsListen string `yaml:"metrics_listen"`
	// ExternalURL is the dashboard's address as people reach it
	// (https://vigie.example.org/ behind a proxy): notifications link to
	// the incident's page under it. Empty: http(s)://listen.
	ExternalURL string `yaml:"external_url"`
}

// DashboardURL is where people open the dashboard: ExternalURL, else the
// listen address (https when vigie terminates TLS); empty without an HTTP
// server.
func (h HTTP) DashboardURL() string {
	if h.ExternalURL != "" {
		return strings.TrimRight(h.ExternalURL, "/")
	}
	if h.Listen == "" {
		return ""
	}
	host, port, err := net.SplitHostPort(h.Listen)
	if err != nil {
		return ""
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	scheme := "http"
	if h.TLSCert != "" {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// LoginRequired says whether the dashboard asks for a user, a password and
// a TOTP code: whenever it can be reached from another machine.
func (h HTTP) LoginRequired() bool {
	return h.TLSCert != "" || h.ReverseProxy || checkLoopback(h.Listen) != nil
}

// Store configures where state is kept.
type Store struct {
	Driver string `yaml:"driver"` // sqlite or postgres
	// Path of the SQLite file; empty: vigie.db in the data directory.
	Path string `yaml:"path"`
	// DSN of the PostgreSQL database several nodes share (driver
	// postgres): postgres://user:password@host:5432/vigie or
	// "host=... user=... dbname=...". It holds a password, so it is a
	// Secret: {file: PATH} or {env: NAME} keep it out of this file.
	DSN Secret `yaml:"dsn"`
	// SampleRetention is how long time series points (queue depth, sending
	// rates) are kept.
	SampleRetention time.Duration `yaml:"sample_retention"`
}

// Alerts configures the alert pipeline.
type Alerts struct {
	// ResolveAfter resolves an alert no finding has repeated for this long,
	// unless its watch resolves it itself. 0: never.
	ResolveAfter time.Duration `yaml:"resolve_after"`
	// CheckInterval is how often stale alerts are looked for.
	CheckInterval time.Duration `yaml:"check_interval"`
	// NotifyTimeout bounds one delivery by one notifier.
	NotifyTimeout time.Duration `yaml:"notify_timeout"`
	// Grouping tunes the grouping rules that join alerts across watches.
	Grouping Grouping `yaml:"grouping"`
}

// Grouping tunes the cross-watch grouping rules (see internal/alert).
type Grouping struct {
	// BlocklistWindow: a blocklisting joins the incident of a mail
	// compromise seen at most this long before it.
	BlocklistWindow time.Duration `yaml:"blocklist_window"`
	// CTWindow: a certificate joins the incident of a DNS drift of its
	// domain that is open or was resolved at most this long before.
	CTWindow time.Duration `yaml:"ct_window"`
}

// Default returns the configuration used when no file is given, and the
// base every file is applied on.
func Default() *Config {
	return &Config{
		Log:  Log{Level: "info", Format: "text"},
		HTTP: HTTP{Listen: "127.0.0.1:9760", SessionLifetime: 12 * time.Hour},
		Store: Store{
			Driver:          "sqlite",
			SampleRetention: 30 * 24 * time.Hour,
		},
		Alerts: Alerts{
			ResolveAfter:  time.Hour,
			CheckInterval: time.Minute,
			NotifyTimeout: 10 * time.Second,
			Grouping:      Grouping{BlocklistWindow: 72 * time.Hour, CTWindow: 48 * time.Hour},
		},
		Notify:    defaultNotify(),
		Self:      defaultSelf(),
		Heartbeat: defaultHeartbeat(),

		Blocklist: defaultBlocklist(),

		Web:    defaultWeb(),
		CT:     defaultCT(),
		Mail:   defaultMail(),
		Policy: defaultPolicy(),
		DNS:    defaultDNS(),
	}
}
