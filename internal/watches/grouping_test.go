package watches

import (
	"fmt"
	"testing"

	"github.com/vigie/vigie/internal/alert"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
)

// The alert pipeline groups by the descriptors the app gives it; built
// without them (tools, tests) it uses its own copy of their grouping. The
// two must say the same thing, watch by watch.
func TestAlertBuiltinGroupingIsTheDescriptors(t *testing.T) {
	builtin := alert.BuiltinGrouping()
	findings := []vigie.Finding{
		{Subject: "alice@club.example"},
		{Subject: "/var/www/asso", Evidence: map[string]string{"uid": "1001", "owner": "asso"}},
		{Subject: "/var/www/asso", Evidence: map[string]string{"owner": "asso"}},
		{Subject: ""},
		{Subject: "x", Evidence: map[string]string{"domain": "a.example", "names": "*.b.example, c.example"}},
	}
	describe := func(g *watch.Grouping) string {
		if g == nil {
			return "none"
		}
		s := fmt.Sprintf("compromise=%v follows=%v index=%v joins=%v", g.Compromise, g.FollowsCompromise, g.IndexDomains, g.JoinsDomains)
		for _, f := range findings {
			if g.Key != nil {
				s += " key=" + g.Key(&f)
			}
			if g.Domains != nil {
				a := vigie.Alert{Subject: f.Subject, Evidence: f.Evidence}
				s += fmt.Sprintf(" domains=%q", g.Domains(&a))
			}
		}
		return s
	}
	for _, d := range All() {
		var b *watch.Grouping
		if bd := builtin.Find(string(d.Name)); bd != nil {
			b = bd.Grouping
		}
		if got, want := describe(b), describe(d.Grouping); got != want {
			t.Errorf("%s: alert's built-in grouping says\n%s\nthe descriptor says\n%s", d.Name, got, want)
		}
	}
	for _, bd := range builtin {
		if All().Find(string(bd.Name)) == nil {
			t.Errorf("alert's built-in grouping knows %s, which no descriptor is", bd.Name)
		}
	}
}
