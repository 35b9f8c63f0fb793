package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie/vigie/internal/app"
	"github.com/vigie/vigie/internal/buildinfo"
	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/sdnotify"
)

func warningsOf(cfg *config.Config) []config.Warning {
	if cfg == nil {
		return nil
	}
	return cfg.Warnings
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func runCommand() *command {
	return &command{name: "run", summary: "run the daemon", run: runDaemon}
}

func runDaemon(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "vigie run", "[--config FILE] [--data DIR]", `
Runs vigie in the foreground until SIGTERM or SIGINT (it stops within 5 s).
SIGHUP reloads the configuration file; a file with errors is refused and
the running configuration stays. Without --config (or $VIGIE_CONFIG), vigie
runs on its embedded defaults: see 'vigie config example'.`)
	cfgPath := f.configFlag()
	if code, ok := f.parse(args); !ok {
		return code
	}
	if f.NArg() != 0 {
		return f.usageError("takes no arguments, got %q", f.Args())
	}
	*cfgPath = configPath(env, *cfgPath)
	cfg, code, ok := loadConfig(env, *cfgPath)
	if !ok {
		return code
	}
	dataDir, err := config.DataDir(env.data, env.Getenv, cfg)
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigie run: %v\n", err)
		return exitUsage
	}
	level := new(slog.LevelVar)
	log := newLogger(env.Stderr, cfg.Log.Format, level)
	if *cfgPath == "" {
		log.Info("no configuration file: running on the embedded defaults")
	}
	for _, w := range cfg.Warnings {
		log.Warn("configuration: " + w.String())
	}
	a, err := app.New(ctx, app.Options{Config: cfg, DataDir: dataDir, Logger: log, LogLevel: level,
		Registry: prometheus.NewRegistry(), Version: buildinfo.Version()})
	if err != nil {
		log.Error("cannot start", "err", err)
		return exitFail
	}
	sd := sdnotify.FromEnv(env.Getenv, os.Getpid())
	go reloadLoop(ctx, env, *cfgPath, a, log, sd)
	go notifySystemd(ctx, a, sd, log)
	if err := a.Run(ctx); err != nil {
		log.Error("cannot start", "err", err)
		return exitFail
	}
	return exitOK
}

// notifySystemd tells systemd (Type=notify) that vigie is ready once the
// HTTP server listens and the watches started, pets the watchdog while the
// store answers, and says when vigie stops. Outside systemd it does nothing.
func notifySystemd(ctx context.Context, a *app.App, sd *sdnotify.Notifier, log *slog.Logger) {
	if !sd.Enabled() {
		return
	}
	select {
	case <-ctx.Done():
		return
	case <-a.Ready():
	}
	status := "running"
	if addr := a.HTTPAddr(); addr != nil {
		status = "running, http on " + addr.String()
	}
	if err := sd.Ready(status); err != nil {
		log.Warn("cannot tell systemd vigie is ready", "err", err)
	}
	sd.RunWatchdog(ctx, a.Store().Ping, func(err error) {
		log.Error("systemd watchdog not notified: vigie is unhealthy", "err", err)
	})
	<-ctx.Done()
	sd.Stopping()
}

// configPath is the configuration file a command reads: its --config,
// else $VIGIE_CONFIG, else none (the embedded defaults).
func configPath(env *Env, flag string) string {
	if flag != "" {
		return flag
	}
	return env.Getenv("VIGIE_CONFIG")
}

// loadConfig reads the file configPath names, or returns the defaults.
func loadConfig(env *Env, path string) (*config.Config, int, bool) {
	path = configPath(env, path)
	if path == "" {
		return config.Default(), 0, true
	}
	cfg, err := config.Load(path)
	if err != nil {
		fmt.Fprintln(env.Stderr, err)
		return nil, exitUsage, false
	}
	return cfg, 0, true
}

func reloadLoop(ctx context.Context, env *Env, path string, a *app.App, log *slog.Logger, sd *sdnotify.Notifier) {
	// A SIGHUP that arrives while vigie starts waits until the watches run.
	select {
	case <-ctx.Done():
		return
	case <-a.Ready():
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-env.Reload:
		}
		if path == "" {
			log.Warn("SIGHUP: no configuration file to reload (vigie runs on its embedded defaults)")
			continue
		}
		sd.Reloading(monotonic())
		cfg, err := config.Load(path)
		for _, w := range warningsOf(cfg) {
			log.Warn("configuration: " + w.String())
		}
		if err != nil {
			log.Error("SIGHUP: configuration refused; the running one stays", "err", err.Error())
			sd.Ready("running; the last reload was refused: " + firstLine(err.Error()))
			continue
		}
		if err := a.Reload(cfg); err != nil {
			log.Error("SIGHUP: reload failed", "err", err)
			sd.Ready("running; the last reload failed")
			continue
		}
		sd.Ready("running; configuration reloaded")
	}
}

func newLogger(w io.Writer, format string, level *slog.LevelVar) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
