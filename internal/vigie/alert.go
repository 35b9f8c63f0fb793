package vigie

import "time"

// AlertState is where an alert is in its life.
type AlertState string

const (
	AlertFiring       AlertState = "firing"
	AlertAcknowledged AlertState = "acknowledged"
	AlertResolved     AlertState = "resolved"
)

// Active reports whether the alert still needs attention or is being handled.
func (s AlertState) Active() bool { return s == AlertFiring || s == AlertAcknowledged }

// An Alert is the de-duplicated form of the findings that share a key.
type Alert struct {
	ID         int64
	Key        string
	Group      string
	Watch      string
	Rule       string
	Subject    string
	Severity   Severity
	State      AlertState
	Summary    string            // from the latest finding
	Evidence   map[string]string // from the latest finding
	FirstSeen  time.Time
	LastSeen   time.Time
	Count      int64
	AckedBy    string
	AckedAt    time.Time
	ResolvedAt time.Time
	// ResolveAfter: see Finding.ResolveAfter; already defaulted here.
	ResolveAfter time.Duration
	IncidentID   int64
	Node         string
	UpdatedAt    time.Time
}
