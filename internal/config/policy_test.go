package config

import (
	"strings"
	"testing"
	"time"
)

func TestPolicyErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{"policy:\n  listen: [0.0.0.0:10040]\n", "c.yaml:2: policy.listen[0]:"},
		{"policy:\n  listen: [unix:relative/path]\n", "expected an absolute socket path"},
		{"policy:\n  listen: []\n", "policy.listen: expected at least one address"},
		{"policy:\n  stage: RCPT\n", "c.yaml:2: policy.stage: expected one of [END-OF-MESSAGE DATA]"},
		{"policy:\n  limits:\n    - {window: 0s, messages: 3}\n", "c.yaml:3: policy.limits[0].window"},
		{"policy:\n  limits:\n    - {window: 1m}\n", "sets neither messages nor recipients"},
		{"policy:\n  accounts:\n    bob@example.org:\n      - {window: 1h, messages: -1}\n", "c.yaml:4: policy.accounts.bob@example.org[0]"},
		{"policy:\n  over_limit: {action: BOUNCE}\n", "policy.over_limit.action: expected one of"},
		{"policy:\n  suspended: {action: HOLD, text: \"a\\nb\"}\n", "policy.suspended.text: must be one line"},
		{"policy:\n  unauthenticated_networks: [10.0.0.0/33]\n", "policy.unauthenticated_networks[0]"},
		{"policy:\n  unauthenticated_key: helo\n", "policy.unauthenticated_key"},
		{"policy:\n  postfix:\n    postsuper: []\n", "policy.postfix.postsuper: expected a program"},
		{"policy:\n  containment:\n    automatic: sometimes\n", "c.yaml:3: policy.containment.automatic: expected true or false"},
	}
	for _, c := range cases {
		_, err := Parse("c.yaml", []byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.in, err, c.want)
		}
	}
	cfg, err := Parse("c.yaml", []byte("policy:\n  enabled: on\n  listen: [127.0.0.1:1, unix:/run/vigie.sock]\n  accounts:\n    news@example.org: [{window: 1h, messages: 5000}]\n"))
	if err != nil || cfg.Policy.Enabled != SwitchOn || len(cfg.Policy.Accounts["news@example.org"]) != 1 {
		t.Errorf("good policy section: %v %+v", err, cfg.Policy)
	}
}

// `containment: off` is one line; the mapping still works and its keys
// are checked; a per-sender key for unauthenticated mail is refused.
func TestContainmentOneLine(t *testing.T) {
	cfg, err := Parse("c.yaml", []byte("policy:\n  containment: off\n  allow: [news@example.org, uid:1001]\n"))
	if err != nil || cfg.Policy.Containment.Automatic || len(cfg.Policy.Containment.Rules) == 0 || len(cfg.Policy.Allow) != 2 {
		t.Fatalf("containment: off: %v %+v", err, cfg)
	}
	if !Default().Policy.Containment.Automatic {
		t.Error("containment is not on by default")
	}
	cfg, err = Parse("c.yaml", []byte("policy:\n  containment:\n    automatic: false\n    over_limit_messages: 5\n"))
	if err != nil || cfg.Policy.Containment.Automatic || cfg.Policy.Containment.OverLimitMessages != 5 || cfg.Policy.Containment.PollInterval != time.Second {
		t.Fatalf("mapping: %v %+v", err, cfg.Policy.Containment)
	}
	for _, bad := range []struct{ yaml, want string }{
		{"policy:\n  containment:\n    automatc: true\n", "c.yaml:3: policy.containment.automatc: unknown key"},
		{"policy:\n  containment: maybe\n", "policy.containment"},
		{"policy:\n  containment: auto\n", "policy.containment"},
		{"policy:\n  unauthenticated_key: sender\n", "c.yaml:2: policy.unauthenticated_key: sender is no longer accepted"},
		{"policy:\n  milter: {listen: 127.0.0.1:1, local_listen: 127.0.0.1:1}\n", "policy.milter.local_listen: must differ"},
		{"policy:\n  milter: {listen: 0.0.0.0:10041}\n", "policy.milter.listen"},
	} {
		_, err := Parse("c.yaml", []byte(bad.yaml))
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: %v, want %q", bad.yaml, err, bad.want)
		}
	}
}
