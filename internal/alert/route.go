package alert

import (
	"slices"

	"github.com/vigie/vigie/internal/selfwatch"
	"github.com/vigie/vigie/internal/vigie"
)

// A Route sends the alerts of some watches, at or above a severity, to
// some notifiers. A notifier that no route names hears of every alert (the
// log notifier, typically); a notifier named by routes hears of what those
// routes match. A resolution follows the route of the alert it resolves.
type Route struct {
	Watches     []string       // empty: every watch
	MinSeverity vigie.Severity // zero: every severity
	Notifiers   []string
}

func (r *Route) matches(a *vigie.Alert) bool {
	return (len(r.Watches) == 0 || slices.Contains(r.Watches, a.Watch)) && a.Severity >= r.MinSeverity
}

// routeFilter is what notifier name accepts under routes. The self-watch's
// alerts (vigie is blind somewhere, a notifier is failing) go to every
// notifier whatever the routes: the admin must hear of them wherever they
// listen.
func routeFilter(name string, routes []Route) func(a *vigie.Alert) bool {
	var mine []Route
	for _, r := range routes {
		if slices.Contains(r.Notifiers, name) {
			mine = append(mine, r)
		}
	}
	if len(mine) == 0 {
		return func(*vigie.Alert) bool { return true }
	}
	return func(a *vigie.Alert) bool {
		if a.Watch == selfwatch.Name {
			return true
		}
		for i := range mine {
			if mine[i].matches(a) {
				return true
			}
		}
		return false
	}
}
