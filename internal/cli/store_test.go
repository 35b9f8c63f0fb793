package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigie/vigie/internal/testutil/pgtest"
)

func TestStoreMigrate(t *testing.T) {
	dir := t.TempDir()
	seed(t, dir)
	srv := pgtest.Require(t)
	dsn := srv.Database(t)
	from := "sqlite:" + filepath.Join(dir, "vigie.db")

	out, errs, code := run(t, dir, "store", "migrate", "--from", from, "--to", "postgres:"+dsn)
	if code != 0 || !strings.Contains(out, "copied 4 alerts, 2 incidents, 4 findings") {
		t.Fatalf("migrate: %d %q %q", code, out, errs)
	}
	out, errs, code = run(t, dir, "store", "migrate", "--from", from, "--to", "postgres:"+dsn)
	if code != 1 || !strings.Contains(errs, "nothing copied: the PostgreSQL database is not empty: it holds 4 alerts") {
		t.Fatalf("second migrate: %d %q %q", code, out, errs)
	}
	// The daemon's commands now read the copy.
	cfg := filepath.Join(dir, "vigie.yaml")
	os.WriteFile(cfg, []byte("store:\n  driver: postgres\n  dsn: "+dsn+"\n"), 0o600)
	out, errs, code = run(t, dir, "incident", "list", "--config", cfg)
	if code != 0 || !strings.Contains(out, "alice@club1.fr account-volume") {
		t.Fatalf("incident list on the copy: %d %q %q", code, out, errs)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--to", "postgres:" + dsn}, "--from must be sqlite:PATH"},
		{[]string{"--from", from, "--to", "mysql:x"}, "--to must be postgres:DSN"},
		{[]string{"--from", from, "--to", "postgres:"}, "$VIGIE_POSTGRES_DSN, which is empty"},
	} {
		_, errs, code := run(t, dir, append([]string{"store", "migrate"}, c.args...)...)
		if code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: %d %q, want usage error %q", c.args, code, errs, c.want)
		}
	}
	_, errs, code = run(t, dir, "store", "migrate", "--from", "sqlite:"+filepath.Join(dir, "missing.db"), "--to", "postgres:"+srv.Database(t))
	if code != 1 || !strings.Contains(errs, "missing.db") {
		t.Errorf("missing source: %d %q", code, errs)
	}
}
