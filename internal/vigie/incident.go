package vigie

import "time"

// IncidentState is where an incident is in its life.
type IncidentState string

const (
	IncidentOpen         IncidentState = "open"
	IncidentAcknowledged IncidentState = "acknowledged"
	IncidentResolved     IncidentState = "resolved"
)

// An Incident groups the alerts of one attack and keeps its timeline.
type Incident struct {
	ID         int64
	Key        string // the group key of its alerts
	Title      string
	Severity   Severity
	State      IncidentState
	OpenedAt   time.Time
	UpdatedAt  time.Time
	AckedBy    string
	AckedAt    time.Time
	ResolvedAt time.Time
}

// TimelineKind says what a timeline entry records.
type TimelineKind string

const (
	TimelineFinding      TimelineKind = "finding"      // an alert fired, escalated or came back
	TimelineState        TimelineKind = "state"        // acknowledged, resolved, re-opened
	TimelineNotification TimelineKind = "notification" // a notifier delivered (or failed to)
	TimelineAction       TimelineKind = "action"       // hold, purge, approve...
	TimelineNote         TimelineKind = "note"         // written by a person
)

// A TimelineEntry is one line of an incident's timeline.
type TimelineEntry struct {
	ID         int64
	IncidentID int64
	Time       time.Time
	Kind       TimelineKind
	Actor      string // "vigie", a notifier name, or the user who acted
	Text       string
	AlertID    int64
	Data       map[string]string
}
