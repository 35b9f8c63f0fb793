package app

import (
	"github.com/vigie/vigie/internal/watch"
)

// Watch, Deps and Builder are the watch package's: every watch is built
// from Deps by its descriptor's Builder (internal/watches lists them).
type (
	Watch   = watch.Watch
	Deps    = watch.Deps
	Builder = watch.Builder
)

// running says which watches run now: true while one runs, false while it
// waits to restart after a failure (the dashboard's watch status).
func (a *App) running() map[string]bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]bool, len(a.watches))
	for _, s := range a.watches {
		s.mu.Lock()
		out[s.name] = out[s.name] || s.up
		s.mu.Unlock()
	}
	return out
}
