package app

import (
	"context"
	"strings"
	"testing"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/store/postgres"
	"github.com/vigie/vigie/internal/testutil/pgtest"
	"github.com/vigie/vigie/internal/vigie"
)

// With driver postgres the app stores into the database the DSN names,
// and tags findings with the configured node.
func TestAppOnPostgres(t *testing.T) {
	srv := pgtest.Require(t)
	cfg := config.Default()
	cfg.HTTP.Listen = ""
	cfg.Node = "mx2"
	cfg.Store.Driver = "postgres"
	cfg.Store.DSN = config.NewSecret(srv.Database(t))
	w := &fakeWatch{name: "mail", run: func(ctx context.Context, _ int32, d Deps) error {
		if err := d.Sink.Emit(ctx, vigie.Finding{Watch: "mail", Rule: "account-volume", Subject: "alice",
			Severity: vigie.SeverityCritical, Summary: "alice sent 3600 mails in an hour"}); err != nil {
			return err
		}
		<-ctx.Done()
		return nil
	}}
	h := start(t, cfg, builderOf(w))
	if _, ok := h.app.Store().(*postgres.DB); !ok {
		t.Fatalf("store is %T, want *postgres.DB", h.app.Store())
	}
	eventually(t, "the finding, tagged with its node", func() bool {
		fs, _ := h.app.Store().ListFindings(context.Background(), store.FindingQuery{})
		return len(fs) == 1 && fs[0].Node == "mx2" && fs[0].Subject == "alice"
	})
}

func TestOpenStoreErrors(t *testing.T) {
	cfg := config.Default()
	cfg.Store.Driver = "postgres"
	cfg.Store.DSN = config.NewSecret("postgres://vigie:s3cret@127.0.0.1:1/vigie?connect_timeout=2")
	_, err := OpenStore(context.Background(), cfg, t.TempDir(), nil, nil)
	if err == nil {
		t.Fatal("opened a store on a closed port")
	}
	if want := "127.0.0.1:1/vigie"; !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error %q: want it to name %s and not the password", err, want)
	}
}
