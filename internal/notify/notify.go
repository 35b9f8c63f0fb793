// Package notify defines how alerts leave vigie. Each kind of notifier is a
// sub-package implementing Notifier.
package notify

import (
	"context"
	"time"

	"github.com/vigie/vigie/internal/vigie"
)

// Change is what happened to an alert.
type Change string

const (
	Fired     Change = "fired"     // a new alert
	Refired   Change = "refired"   // a resolved alert came back
	Escalated Change = "escalated" // its severity rose
	Resolved  Change = "resolved"
)

// A Notification tells about one alert change. The alert and incident are
// already persisted when it is sent.
type Notification struct {
	Change   Change
	Alert    vigie.Alert
	Incident vigie.Incident // zero when the alert has none
	Time     time.Time
}

// Notifier delivers notifications somewhere people read them.
type Notifier interface {
	// Name identifies the notifier in logs, metrics and timelines.
	Name() string
	// Notify delivers one notification. It must honour ctx.
	Notify(ctx context.Context, n Notification) error
}
