package config

import (
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

func (s *Store) validate(c *checker) {
	switch s.Driver {
	case "sqlite":
		if s.DSN.IsSet() {
			c.bad("store.dsn", "only used with driver postgres (driver is sqlite: the store is the file store.path)")
		}
	case "postgres":
		if s.Path != "" {
			c.bad("store.path", "only used with driver sqlite (driver is postgres: the store is store.dsn)")
		}
		if !s.DSN.IsSet() {
			c.bad("store.dsn", "required with driver postgres: postgres://USER@HOST:5432/DB or host=... dbname=..., "+
				"inline or as {file: PATH} or {env: NAME}")
			break
		}
		v := s.DSN.Value()
		if !strings.HasPrefix(v, "postgres://") && !strings.HasPrefix(v, "postgresql://") && !strings.Contains(v, "=") {
			c.bad("store.dsn", "expected postgres://USER@HOST:5432/DB or host=... dbname=... (from %s)", s.DSN.Source())
			break
		}
		// The parser's own message may quote the DSN, password included.
		if _, err := pgconn.ParseConfig(v); err != nil {
			c.bad("store.dsn", "does not parse as a PostgreSQL connection string (from %s): check its quoting and port", s.DSN.Source())
		}
	default:
		c.bad("store.driver", "expected sqlite or postgres, got %q", s.Driver)
	}
}
