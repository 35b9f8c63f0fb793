package config

import (
	"strings"
	"testing"
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
