// Package health is how a watch tells whether it can see: the time its
// input last advanced, how far behind it is, and the reasons it is blind
// now. The self-watch (package selfwatch) turns blindness into alerts and
// /healthz into a 503; a watch only reports facts about its own input.
package health

import "time"

// Cause names one way of being blind; each watch owns its causes.
type Cause string

// Blind is one reason a watch cannot see now.
type Blind struct {
	Cause    Cause
	Subject  string // the log, the sweep, the notifier: "" for the watch as a whole
	Summary  string
	Evidence map[string]string
}

// Report is what a watch says of its own sight at one moment.
type Report struct {
	// LastSuccess is when its input last advanced (a log line read, a
	// sweep finished, a CT log polled); zero: not yet.
	LastSuccess time.Time
	// Lag says how far behind it is, in its own unit ("12 entries",
	// "3m0s"); "" when it keeps up.
	Lag   string
	Blind []Blind
}

// A Reporter is a watch that can tell whether it sees.
type Reporter interface {
	Health(now time.Time) Report
}
