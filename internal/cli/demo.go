package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie/vigie/internal/app"
	"github.com/vigie/vigie/internal/buildinfo"
	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/demo"
)

func demoCommand() *command {
	return &command{name: "demo", summary: "run the dashboard on a throwaway store loaded with the four incident scenarios", run: runDemo}
}

func runDemo(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "vigie demo", "[--listen 127.0.0.1:9760]", `
Starts vigie on a new, temporary store, replays the four incidents vigie
exists for (a stolen mail password sending a mail a second, a Drupal site
relaying spam through pickup, 751 domains' NS switched at the registries,
a certificate issued in that window) through the watches' own detectors
and the alert pipeline, prints the dashboard's URL and runs until Ctrl-C,
then deletes the store. The replayed input is bundled: a generated Postfix
log, a Drupal 7.57 tree and its access log, TLD servers and a CT log that
the demo runs on 127.0.0.1 for the few seconds of the replay. It reads no
configuration, starts no watch and listens on loopback only.`)
	listen := f.String("listen", "127.0.0.1:9760", "loopback address to serve the dashboard on (port 0: any free port)")
	if code, ok := f.parse(args); !ok {
		return code
	}
	if f.NArg() != 0 {
		return f.usageError("takes no arguments")
	}
	cfg := config.Default()
	cfg.HTTP.Listen = *listen
	cfg.Alerts.ResolveAfter = 0 // the scenarios stay open while you look
	cfg.Notify.Log.Enabled = false
	if cfg.HTTP.LoginRequired() {
		return f.usageError("--listen must be a loopback host:port such as 127.0.0.1:9760: the demo has no login")
	}
	dir, err := os.MkdirTemp("", "vigie-demo-")
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigie demo: %v\n", err)
		return exitFail
	}
	defer os.RemoveAll(dir)
	level := new(slog.LevelVar)
	level.Set(slog.LevelWarn)
	log := newLogger(env.Stderr, "text", level)
	a, err := app.New(ctx, app.Options{Config: cfg, DataDir: dir, Logger: log, Registry: prometheus.NewRegistry(),
		Version: buildinfo.Version(), Builders: []app.Builder{}})
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigie demo: %v\n", err)
		return exitFail
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	select {
	case <-a.Ready():
	case err := <-done:
		fmt.Fprintf(env.Stderr, "vigie demo: %v (another address: --listen 127.0.0.1:0 picks a free port)\n", err)
		return exitFail
	}
	n, err := demo.Load(ctx, a.Pipeline(), a.Store(), demo.Scenarios(), time.Now())
	if err != nil {
		stop()
		<-done
		fmt.Fprintf(env.Stderr, "vigie demo: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(env.Stdout, "vigie demo: %d findings and %d graph points loaded into %s\n", n.Findings, n.Samples, dir)
	fmt.Fprintf(env.Stdout, "Dashboard: http://%s/\nPress Ctrl-C to stop (the store is deleted).\n", a.HTTPAddr())
	<-ctx.Done()
	stop()
	<-done
	return exitOK
}
