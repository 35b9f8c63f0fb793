package vigie

import "time"

// A Sample is one point of a time series: the mail queue depth, the
// messages an account sent in a minute. Subject is empty for a
// server-wide series.
type Sample struct {
	Series  string
	Subject string
	Time    time.Time
	Value   float64
}

// An AuditEntry records an action taken by a person or by vigie itself.
type AuditEntry struct {
	ID     int64
	Time   time.Time
	Actor  string
	Action string // "mail.hold", "alert.acknowledge", ...
	Target string
	Detail string
	Result string // "ok" or the error
}
