package config

import (
	"strings"
	"testing"
)

const fullNotify = `
notify:
  webhook:
    - name: hook
      url: https://hooks.example.org/vigie
      hmac_key: {env: VIGIE_TEST_HMAC}
  email:
    - from: vigie@example.org
      to: [admin@example.org]
      server: {address: 127.0.0.1:587, username: vigie, password: pw}
      relay: {address: smtp.example.net:587, tls: tls}
  matrix:
    - homeserver: https://matrix.example.org
      room_id: "!abc:example.org"
      access_token: syt_x
  ntfy:
    - server: https://ntfy.sh
      topic: vigie-x
  slack:
    - url: https://hooks.slack.com/services/T/B/X
  alertmanager:
    - url: http://127.0.0.1:9093
  routes:
    - watches: [dns, ct]
      min_severity: critical
      notifiers: [hook, matrix]
`

func TestNotifyFull(t *testing.T) {
	t.Setenv("VIGIE_TEST_HMAC", "k3y")
	cfg, err := Parse("c.yaml", []byte(fullNotify))
	if err != nil {
		t.Fatal(err)
	}
	n := cfg.Notify
	if n.Webhook[0].HMACKey.Value() != "k3y" || n.Email[0].Server.Password.Value() != "pw" || n.Email[0].Relay.TLS != "tls" ||
		n.Matrix[0].AccessToken.Value() != "syt_x" || n.Slack[0].URL.Value() == "" || len(n.Routes) != 1 || n.Routes[0].Notifiers[1] != "matrix" {
		t.Errorf("notify = %+v", n)
	}
	if strings.Contains(n.Slack[0].URL.String(), "hooks.slack.com") {
		t.Error("the Slack URL, a secret, shows in String()")
	}
}

func TestNotifyErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"duplicate names", "notify:\n  ntfy:\n    - {server: https://a.example, topic: a}\n    - {server: https://b.example, topic: b}\n",
			`notify.ntfy[1].name: two notifiers are named "ntfy"`},
		{"unsigned webhook", "notify:\n  webhook:\n    - url: https://h.example/x\n", "notify.webhook[0].hmac_key: a webhook needs an hmac_key"},
		{"bad url", "notify:\n  alertmanager:\n    - url: ftp://x\n", `c.yaml:3: notify.alertmanager[0].url: expected an http:// or https:// URL, got "ftp://x"`},
		{"room alias", "notify:\n  matrix:\n    - {homeserver: https://m.example, room_id: '#ops:m.example', access_token: t}\n", "notify.matrix[0].room_id: expected a room id"},
		{"route to nobody", "notify:\n  routes:\n    - notifiers: [pager]\n", `notify.routes[0].notifiers: no notifier is named "pager"`},
		{"route severity", "notify:\n  routes:\n    - {min_severity: high, notifiers: [log]}\n", "notify.routes[0].min_severity: expected one of [info warning critical]"},
		{"smtp address", "notify:\n  email:\n    - {from: a@b.example, to: [c@d.example], server: {address: smtp.example.org}}\n", "notify.email[0].server.address: expected host:port"},
		{"bad tls", "notify:\n  email:\n    - {from: a@b.example, to: [c@d.example], server: {address: 'h:25', tls: maybe}}\n", "notify.email[0].server.tls: expected one of"},
		{"missing env secret", "notify:\n  matrix:\n    - {homeserver: https://m.example, room_id: '!a:m.example', access_token: {env: VIGIE_NOPE_UNSET}}\n", "environment variable VIGIE_NOPE_UNSET is not set"},
		{"window", "alerts:\n  grouping:\n    ct_window: 0\n", "alerts.grouping.ct_window: expected a positive duration"},
	} {
		_, err := Parse("c.yaml", []byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}
