package eval

import (
	"strings"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/mail/mailgen"
)

// The figures `make eval` prints, asserted: every attack is named within
// 60 s (the slow one within 60 min), and four weeks of normal traffic
// raise no false alert after the first week.
func TestSuiteFigures(t *testing.T) {
	if testing.Short() {
		t.Skip("seven four-week scenarios")
	}
	rows, err := RunSuite(config.Default().Mail)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	Print(&b, rows)
	t.Log("\n" + b.String())
	for i, sc := range Suite() {
		r := rows[i]
		if r.FalseAlerts != 0 {
			t.Errorf("%s: %d false alerts after the first week", r.Scenario, r.FalseAlerts)
		}
		if sc.Attack == mailgen.NoAttack {
			continue
		}
		limit := 60 * time.Second
		if sc.Attack == mailgen.StolenSlow {
			limit = 60 * time.Minute
		}
		if !r.Detected || r.TimeToDetect > limit {
			t.Errorf("%s: detected %v after %s (limit %s)", r.Scenario, r.Detected, r.TimeToDetect, limit)
		}
		if r.Messages < 200 {
			t.Errorf("%s: the attack sent only %d messages", r.Scenario, r.Messages)
		}
	}
}

// Without the admin's word, the newsletters alert every week: the suite's
// zero comes from the learning rules, not from a blind eye.
func TestNewslettersAlertWeeklyWhenNotMarked(t *testing.T) {
	if testing.Short() {
		t.Skip("a four-week scenario")
	}
	r, err := Run(Scenario{Attack: mailgen.NoAttack, Seed: 1, NoAdmin: true}, config.Default().Mail)
	if err != nil {
		t.Fatal(err)
	}
	if r.FalseAlerts < 6 {
		t.Errorf("%d alerts after the first week, want the 2 newsletters x 3 weeks", r.FalseAlerts)
	}
}
