package app

import (
	"testing"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/mail"
	"github.com/vigie/vigie/internal/vigie"
)

// The policy server suspends on the mail watch's compromise rules: its
// default list must be exactly the rules the mail watch calls compromise.
func TestContainmentRulesAreTheMailWatchsCompromiseRules(t *testing.T) {
	rules := config.Default().Policy.Containment.Rules
	for _, r := range rules {
		if _, ok := mail.IsCompromise(vigie.Finding{Watch: mail.WatchName, Rule: r, Subject: "alice"}); !ok {
			t.Errorf("policy.containment.rules has %q, which the mail watch does not call a compromise", r)
		}
	}
	for _, r := range []string{string(mail.RuleAccountVolume), string(mail.RuleSASLManyIPs)} {
		found := false
		for _, x := range rules {
			found = found || x == r
		}
		if !found {
			t.Errorf("policy.containment.rules lacks the mail watch's compromise rule %q", r)
		}
	}
}
