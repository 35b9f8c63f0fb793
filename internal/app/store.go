package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/store/postgres"
	"github.com/vigie/vigie/internal/store/sqlite"
)

// OpenStore opens the store the configuration names: the SQLite file in
// the data directory, or the PostgreSQL database several nodes share.
// Both apply their migrations.
func OpenStore(ctx context.Context, cfg *config.Config, dataDir string, now func() time.Time, log *slog.Logger) (store.Store, error) {
	switch cfg.Store.Driver {
	case "sqlite", "":
		return sqlite.Open(ctx, cfg.StorePath(dataDir), sqlite.Options{Now: now})
	case "postgres":
		return postgres.Open(ctx, cfg.Store.DSN.Value(), postgres.Options{Now: now, Logger: log})
	}
	return nil, fmt.Errorf("store: unknown driver %q (expected sqlite or postgres)", cfg.Store.Driver)
}
