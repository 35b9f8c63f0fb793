package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/vigie/vigie/internal/store/postgres"
)

func storeCommand() *command {
	return &command{name: "store", summary: "manage the store (SQLite or PostgreSQL)", sub: []*command{
		{name: "migrate", summary: "copy a SQLite store into an empty PostgreSQL database", run: storeMigrate},
	}}
}

func storeMigrate(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "vigie store migrate", "--from sqlite:PATH --to postgres:DSN", `
Copies everything a SQLite store holds (alerts, findings, incidents and
their timelines, graph samples, the watches' state, the audit log) into a
PostgreSQL database, keeping every id, in one transaction. The database
gets vigie's schema first. It must hold no vigie data: the command refuses
a database that does (so a second run copies nothing twice) and then exits
with status 1.

Stop vigie before copying (what it writes meanwhile is not copied), then
set store.driver: postgres and store.dsn in the configuration and start it.

DSN is a postgres:// URL or "host=... dbname=..."; "--to postgres:" alone
takes it from $VIGIE_POSTGRES_DSN, which keeps the password out of the
process list.`)
	from := f.String("from", "", "the SQLite store: sqlite:PATH")
	to := f.String("to", "", "the PostgreSQL database: postgres:DSN")
	if code, ok := f.parse(args); !ok {
		return code
	}
	if f.NArg() != 0 {
		return f.usageError("takes no arguments, got %q", f.Args())
	}
	path, ok := strings.CutPrefix(*from, "sqlite:")
	if !ok || path == "" {
		return f.usageError("--from must be sqlite:PATH, got %q", *from)
	}
	dsn, ok := strings.CutPrefix(*to, "postgres:")
	if !ok {
		// postgres://... is a DSN too: take it as meant.
		if strings.HasPrefix(*to, "postgres://") || strings.HasPrefix(*to, "postgresql://") {
			dsn, ok = *to, true
		}
	}
	if !ok {
		return f.usageError("--to must be postgres:DSN (the DSN of an empty database)")
	}
	if strings.HasPrefix(dsn, "//") {
		dsn = "postgres:" + dsn
	}
	if dsn == "" {
		dsn = env.Getenv("VIGIE_POSTGRES_DSN")
		if dsn == "" {
			return f.usageError("--to postgres: without a DSN takes it from $VIGIE_POSTGRES_DSN, which is empty")
		}
	}
	db, err := postgres.Open(ctx, dsn, postgres.Options{})
	if err != nil {
		fmt.Fprintf(env.Stderr, "vigie store migrate: %v\n", err)
		return exitFail
	}
	defer db.Close()
	counts, err := db.ImportSQLite(ctx, path)
	if err != nil { // postgres.ErrNotEmpty says why the target was refused
		fmt.Fprintf(env.Stderr, "vigie store migrate: nothing copied: %v\n", err)
		return exitFail
	}
	var parts []string
	for _, t := range postgres.ImportTables {
		parts = append(parts, fmt.Sprintf("%d %s", counts[t], t))
	}
	fmt.Fprintf(env.Stdout, "copied %s from %s\n", strings.Join(parts, ", "), path)
	return exitOK
}
