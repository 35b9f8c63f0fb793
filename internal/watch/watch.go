// Package watch is what every watch has in common and what the rest of
// vigie knows of one: the Watch that runs, the Deps it is built from, the
// Sink it reports to, and its Descriptor (name, title, how it is built,
// the series it writes, its dashboard panel, how its alerts read in an
// incident report, how they group).
//
// Each watch package exports its Descriptor; internal/watches lists them
// all, in one place. The app, the CLI, the dashboard, the incident reports
// and the alert grouping read descriptors and never switch on a watch's
// name: a new watch is its package, one line in that list and its config
// keys (docs/adding-a-watch.md).
//
// This package imports no watch, and no watch package imports another's
// internals through it.
package watch

import (
	"context"
	"log/slog"
	"time"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/metrics"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
)

// Name is a watch's name: vigie.Finding.Watch and vigie.Alert.Watch, the
// dashboard's /watches/<name>, the "watch" label of the metrics, the state
// space of store.GetState. Each watch package exports its own as a
// constant; nothing else spells it.
type Name string

func (n Name) String() string { return string(n) }

// Is reports whether a finding's or alert's Watch field is this name.
func (n Name) Is(watch string) bool { return string(n) == watch }

// A Watch is one long-running source of findings: the mail log follower,
// the DNS sweep. Run returns when ctx is done (nil) or when it fails (an
// error: the supervisor logs it and starts the watch again after a pause).
type Watch interface {
	Name() string
	Run(ctx context.Context) error
}

// Sink is what a watch sees of the alert pipeline (alert.Pipeline
// implements it). Emit is safe for concurrent use.
type Sink interface {
	Emit(ctx context.Context, f vigie.Finding) error
}

// Deps is what a watch is built from.
type Deps struct {
	Config  *config.Config
	DataDir string
	Store   store.Store
	Sink    Sink
	Logger  *slog.Logger // add .With("component", "<watch>") in the builder
	Metrics *metrics.Factory
	Now     func() time.Time
}

// A Builder returns the watches its config section turns on: none when the
// section is off, or set to auto and the watch's inputs are not on this
// machine (it then logs, at Info, why it starts nothing). It is called at
// start and on every reload.
type Builder func(d Deps) ([]Watch, error)
