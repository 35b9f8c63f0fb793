// Package config reads vigie's YAML configuration: every key has a
// default, unknown keys are errors, and every error names the file, the
// line and the key, and says what was expected.
package config

import "time"

// Config is the whole configuration. Each watch adds its own section.
type Config struct {
	// DataDir holds the SQLite store and other state. Empty: see DataDir().
	DataDir string `yaml:"data_dir"`
	// Node names this vigie in findings and, with several nodes, in the
	// shared store. Empty: the host name.
	Node   string `yaml:"node"`
	Log    Log    `yaml:"log"`
	HTTP   HTTP   `yaml:"http"`
	Store  Store  `yaml:"store"`
	Alerts Alerts `yaml:"alerts"`
	Notify Notify `yaml:"notify"`
	DNS    DNS    `yaml:"dns"`
}

// Log configures vigie's own log.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
}

// HTTP configures the API, metrics and health endpoint.
type HTTP struct {
	// Listen is host:port; loopback only until authentication exists.
	// Empty turns the HTTP server off.
	Listen string `yaml:"listen"`
}

// Store configures where state is kept.
type Store struct {
	Driver string `yaml:"driver"` // sqlite
	// Path of the SQLite file; empty: vigie.db in the data directory.
	Path string `yaml:"path"`
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
}

// Notify lists the notifiers.
type Notify struct {
	Log LogNotifier `yaml:"log"`
}

// LogNotifier writes alert changes to vigie's own log.
type LogNotifier struct {
	Enabled     bool   `yaml:"enabled"`
	MinSeverity string `yaml:"min_severity"` // info, warning, critical
}

// Default returns the configuration used when no file is given, and the
// base every file is applied on.
func Default() *Config {
	return &Config{
		Log:  Log{Level: "info", Format: "text"},
		HTTP: HTTP{Listen: "127.0.0.1:9760"},
		Store: Store{
			Driver:          "sqlite",
			SampleRetention: 30 * 24 * time.Hour,
		},
		Alerts: Alerts{
			ResolveAfter:  time.Hour,
			CheckInterval: time.Minute,
			NotifyTimeout: 10 * time.Second,
		},
		Notify: Notify{Log: LogNotifier{Enabled: true, MinSeverity: "info"}},
		DNS:    defaultDNS(),
	}
}
