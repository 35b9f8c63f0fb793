package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStoreSection(t *testing.T) {
	dsnFile := filepath.Join(t.TempDir(), "dsn")
	os.WriteFile(dsnFile, []byte("postgres://vigie:pw@db.example.net:5432/vigie\n"), 0o600)
	t.Setenv("VIGIE_TEST_DSN", "host=/run/postgresql dbname=vigie")
	ok := []struct{ name, in, dsn string }{
		{"sqlite", "store:\n  driver: sqlite\n", ""},
		{"postgres file", "store:\n  driver: postgres\n  dsn: {file: " + dsnFile + "}\n", "postgres://vigie:pw@db.example.net:5432/vigie"},
		{"postgres env", "store:\n  driver: postgres\n  dsn: {env: VIGIE_TEST_DSN}\n", "host=/run/postgresql dbname=vigie"},
		{"postgres inline", "store:\n  driver: postgres\n  dsn: postgresql://vigie@127.0.0.1/vigie\n", "postgresql://vigie@127.0.0.1/vigie"},
	}
	for _, c := range ok {
		cfg, err := Parse("c.yaml", []byte(c.in))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if cfg.Store.DSN.Value() != c.dsn {
			t.Errorf("%s: dsn %q, want %q", c.name, cfg.Store.DSN.Value(), c.dsn)
		}
	}
	bad := []struct{ name, in, want string }{
		{"no dsn key", "store:\n  driver: postgres\n", "store.dsn: required with driver postgres"},
		{"not a dsn", "store:\n  driver: postgres\n  dsn: s3cret-garbage\n", "c.yaml:3: store.dsn: expected postgres://"},
		{"bad port", "store:\n  driver: postgres\n  dsn: postgres://u:s3cret@h:notaport/db\n", "store.dsn: does not parse"},
		{"dsn with sqlite", "store:\n  dsn: postgres://h/db\n", "c.yaml:2: store.dsn: only used with driver postgres"},
		{"path with postgres", "store:\n  driver: postgres\n  path: /var/lib/vigie.db\n  dsn: postgres://h/db\n", "c.yaml:3: store.path: only used with driver sqlite"},
		{"driver", "store:\n  driver: mysql\n", "expected sqlite or postgres"},
		{"missing env", "store:\n  driver: postgres\n  dsn: {env: VIGIE_TEST_NOPE}\n", "c.yaml:3"},
	}
	for _, c := range bad {
		_, err := Parse("c.yaml", []byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to contain %q", c.name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: the error shows the DSN's secret: %v", c.name, err)
		}
	}
}
