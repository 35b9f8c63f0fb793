package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/vigie/vigie/internal/alert"
	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/metrics"
	"github.com/vigie/vigie/internal/store"
)

// A Watch is one long-running source of findings: the mail log follower,
// the DNS sweep. Run returns when ctx is done (nil) or when it fails (an
// error: the supervisor logs it and starts the watch again after a pause).
type Watch interface {
	Name() string
	Run(ctx context.Context) error
}

// Deps is what a watch is built from.
type Deps struct {
	Config  *config.Config
	DataDir string
	Store   store.Store
	Sink    alert.Sink
	Logger  *slog.Logger // add .With("component", "<watch>") in the builder
	Metrics *metrics.Factory
	Now     func() time.Time
}

// A Builder returns the watches its config section turns on: none when the
// section is off, or set to auto and the watch's inputs are not on this
// machine. It is called at start and on every reload.
type Builder func(d Deps) ([]Watch, error)

// builtinBuilders are the watches vigie ships. Each watch package adds its
// Builder here.
func builtinBuilders() []Builder {
	return []Builder{
		buildBlocklist,
		buildWeb,
		buildCT,
		buildMail,
		buildPolicy,
		buildDNS,
	}
}
