package app

import (
	"github.com/vigie/vigie/internal/watch"
	"github.com/vigie/vigie/internal/watches"
)

// Watch, Deps and Builder are the watch package's: every watch is built
// from Deps by its descriptor's Builder (internal/watches lists them).
type (
	Watch   = watch.Watch
	Deps    = watch.Deps
	Builder = watch.Builder
)

// builtinBuilders are the watches vigie ships, from the one list.
func builtinBuilders() []Builder { return watches.All().Builders() }
