package app

import (
	"context"
	"net/http"
	"time"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/selfwatch"
)

// Watches implements selfwatch.Source: every watch the app supervises.
func (a *App) Watches(now time.Time) []selfwatch.WatchState {
	a.mu.Lock()
	ws := append([]*supervised(nil), a.watches...)
	a.mu.Unlock()
	out := make([]selfwatch.WatchState, 0, len(ws))
	for _, s := range ws {
		out = append(out, s.state(now))
	}
	return out
}

// Notifiers implements selfwatch.Source.
func (a *App) Notifiers() []selfwatch.NotifierState {
	var out []selfwatch.NotifierState
	for _, n := range a.pipeline.Notifiers() {
		out = append(out, selfwatch.NotifierState{Name: n.Name, FailingSince: n.FailingSince, LastError: n.LastError, LastOK: n.LastOK})
	}
	return out
}

// newSelfWatch is the vigie watch, checking the app itself.
func (a *App) newSelfWatch(cfg *config.Config) *selfwatch.Watch {
	dir := ""
	if cfg.Store.Driver == "sqlite" {
		dir = a.o.DataDir
	}
	s := cfg.Self
	return selfwatch.New(selfwatch.Options{Source: a, Sink: a.pipeline, Logger: a.log, Now: a.o.Now,
		Every: s.CheckInterval, DownAfter: s.DownAfter, RestartLoop: s.RestartLoop, NotifierAfter: s.NotifierFailing,
		DataDir: dir, MinFreeBytes: uint64(s.MinFreeMB) << 20, MinFreeRatio: s.MinFreePercent / 100})
}

// health answers /healthz: 503 with the JSON body when vigie is blind
// somewhere.
func (a *App) health() (any, bool) {
	a.mu.Lock()
	sw := a.self
	a.mu.Unlock()
	if sw == nil {
		return map[string]string{"status": "starting"}, false
	}
	return sw.Status(a.o.Now())
}

// isReady answers /readyz: the watches have started.
func (a *App) isReady() bool {
	select {
	case <-a.ready:
		return true
	default:
		return false
	}
}

// heartbeat pings cfg.URL every cfg.Interval (cfg.FailURL instead while
// vigie is blind, when set), first once the watches started.
func (a *App) heartbeat(ctx context.Context, cfg config.Heartbeat) {
	if !cfg.URL.IsSet() {
		return
	}
	select { // the first ping says vigie runs: once its watches do
	case <-a.ready:
	case <-ctx.Done():
		return
	}
	log := a.log.With("component", "heartbeat")
	client := &http.Client{Timeout: cfg.Timeout}
	t := time.NewTicker(cfg.Interval)
	defer t.Stop()
	for {
		u := cfg.URL.Value()
		if _, ok := a.health(); !ok && cfg.FailURL.IsSet() {
			u = cfg.FailURL.Value()
		}
		if err := ping(ctx, client, u); err != nil && ctx.Err() == nil {
			log.Warn("heartbeat ping failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func ping(ctx context.Context, c *http.Client, u string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "vigie-heartbeat")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return &pingError{status: resp.Status}
	}
	return nil
}

type pingError struct{ status string }

func (e *pingError) Error() string { return "heartbeat receiver answered " + e.status }
