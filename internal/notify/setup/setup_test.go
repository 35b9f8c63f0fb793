package setup

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/vigie"
)

func TestBuildsEveryKind(t *testing.T) {
	cfg, err := config.Parse("c.yaml", []byte(`
notify:
  webhook: [{url: "https://h.example/x", hmac_key: k}]
  email: [{name: admins, from: v@example.org, to: [a@example.org], server: {address: "127.0.0.1:587"}, relay: {address: "r.example:465", tls: tls}}]
  matrix: [{homeserver: "https://m.example", room_id: "!a:m.example", access_token: t}]
  ntfy: [{server: "https://ntfy.sh", topic: x}]
  slack: [{url: "https://hooks.slack.com/services/a"}]
  alertmanager: [{url: "http://127.0.0.1:9093"}]
  routes: [{watches: [dns], min_severity: critical, notifiers: [matrix]}]
`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Build(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range b.Notifiers {
		names = append(names, n.Name())
	}
	if got := strings.Join(names, ","); got != "log,webhook,admins,matrix,ntfy,slack,alertmanager" {
		t.Errorf("notifiers = %s", got)
	}
	if len(b.Routes) != 1 || b.Routes[0].MinSeverity != vigie.SeverityCritical || b.Grouping.CTWindow == 0 || b.Dispatch.GroupWait == 0 {
		t.Errorf("built = %+v", b)
	}
}

func TestUnreadableCAFile(t *testing.T) {
	cfg, err := config.Parse("c.yaml", []byte("notify:\n  matrix: [{name: ops, homeserver: \"https://m.example\", room_id: \"!a:m.example\", access_token: t, ca_file: /nonexistent/ca.pem}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Build(cfg, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), `notify.matrix "ops": ca_file`) {
		t.Errorf("err = %v", err)
	}
}
