package selfwatch

import "time"

// Status is the /healthz body: the state of each watch and notifier and
// the causes of blindness the self-watch sees (the same check as its
// findings, so the page and the alerts never disagree).
type Status struct {
	Status    string           `json:"status"` // "ok" or "blind"
	Time      time.Time        `json:"time"`
	Watches   []WatchStatus    `json:"watches"`
	Notifiers []NotifierStatus `json:"notifiers,omitempty"`
	Blind     []BlindStatus    `json:"blind,omitempty"`
}

// WatchStatus is one watch in the /healthz body.
type WatchStatus struct {
	Name        string     `json:"name"`
	Up          bool       `json:"up"`
	Since       time.Time  `json:"since"`
	Restarts    int        `json:"restarts"`
	LastError   string     `json:"last_error,omitempty"`
	LastSuccess *time.Time `json:"last_success,omitempty"`
	Lag         string     `json:"lag,omitempty"`
	Blind       []string   `json:"blind,omitempty"`
}

// NotifierStatus is one notifier in the /healthz body.
type NotifierStatus struct {
	Name         string     `json:"name"`
	FailingSince *time.Time `json:"failing_since,omitempty"`
	LastError    string     `json:"last_error,omitempty"`
}

// BlindStatus is one cause of blindness.
type BlindStatus struct {
	Cause   string `json:"cause"`
	Subject string `json:"subject"`
	Summary string `json:"summary"`
}

// Status checks now; ok is false when vigie is blind somewhere.
func (w *Watch) Status(now time.Time) (st Status, ok bool) {
	st = Status{Status: "ok", Time: now.UTC()}
	for _, s := range w.o.Source.Watches(now) {
		ws := WatchStatus{Name: s.Name, Up: s.Up, Since: s.Since.UTC(), Restarts: s.Restarts, LastError: firstLine(s.LastError), Lag: s.Report.Lag}
		if t := s.Report.LastSuccess; !t.IsZero() {
			t = t.UTC()
			ws.LastSuccess = &t
		}
		for _, b := range s.Report.Blind {
			ws.Blind = append(ws.Blind, b.Summary)
		}
		st.Watches = append(st.Watches, ws)
	}
	for _, n := range w.o.Source.Notifiers() {
		ns := NotifierStatus{Name: n.Name, LastError: n.LastError}
		if !n.FailingSince.IsZero() {
			t := n.FailingSince.UTC()
			ns.FailingSince = &t
		}
		st.Notifiers = append(st.Notifiers, ns)
	}
	for _, f := range w.Check(now) {
		st.Blind = append(st.Blind, BlindStatus{Cause: f.Rule, Subject: f.Subject, Summary: f.Summary})
	}
	// A watch that just failed and waits a second to restart is not yet
	// blind for the alerts (DownAfter), but a load balancer or a monitor
	// asking now should hear it is down.
	for _, s := range st.Watches {
		if !s.Up || len(s.Blind) > 0 {
			st.Status = "blind"
		}
	}
	if len(st.Blind) > 0 {
		st.Status = "blind"
	}
	return st, st.Status == "ok"
}
