package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/vigie/vigie/internal/app"
	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/store"
)

// openStore opens the store the daemon of cfg writes to: the SQLite file
// in the data directory (--data, $VIGIE_DATA, data_dir) or PostgreSQL.
// With create false a missing SQLite file is an error: a report over a
// wrong --data would otherwise show an empty store and look fine. Commands
// that write state for the daemon (users, suspensions, marks) create it.
func openStore(ctx context.Context, env *Env, cfg *config.Config, create bool) (store.Store, error) {
	dataDir, err := config.DataDir(env.data, env.Getenv, cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Store.Driver == "sqlite" {
		if create {
			if err := config.EnsureDataDir(dataDir); err != nil {
				return nil, err
			}
		} else if _, err := os.Stat(cfg.StorePath(dataDir)); err != nil {
			return nil, fmt.Errorf("no store at %s (has vigie run with this data directory? see --data and --config)", cfg.StorePath(dataDir))
		}
	}
	return app.OpenStore(ctx, cfg, dataDir, nil, nil)
}

// actor is who runs a command that acts (the audit log's actor): the user
// behind sudo, else the login name.
func actor(env *Env) string {
	for _, v := range []string{"SUDO_USER", "USER", "LOGNAME"} {
		if u := env.Getenv(v); u != "" {
			return u
		}
	}
	return "admin"
}
