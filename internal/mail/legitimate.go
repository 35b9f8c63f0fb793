package mail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/vigie/vigie/internal/mail/subject"
	"github.com/vigie/vigie/internal/store"
)

// An admin who resolves an incident as legitimate (`vigie incident
// resolve N --legitimate`, or the dashboard's "Resolve as legitimate")
// says that what the mail watch alerted on was the sender's own doing: a
// newsletter, a mailing. The alert periods of its account-volume alerts
// are then learned as habit (until then, a day with an alert open is
// never habit: that is what keeps an attacker from teaching vigie). The
// marks are kept in the watch's state space, where the running watch
// picks them up.

// stateLegitimate holds the marks (a JSON list of LegitimateMark).
const stateLegitimate = "legitimate"

// LegitimateMark is one alert period an admin marked legitimate.
type LegitimateMark struct {
	Seq      int64     `json:"seq"`
	Subject  string    `json:"subject"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Actor    string    `json:"actor"`
	At       time.Time `json:"at"`
	Incident int64     `json:"incident"`
}

// maxMarks: older marks are dropped (they were applied long ago).
const maxMarks = 500

func loadMarks(ctx context.Context, st store.State) ([]LegitimateMark, error) {
	b, err := st.GetState(ctx, WatchName, stateLegitimate)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var marks []LegitimateMark
	if err := json.Unmarshal(b, &marks); err != nil {
		return nil, fmt.Errorf("reading the legitimate marks: %w", err)
	}
	return marks, nil
}

// MarkIncidentLegitimate records the periods of the mail account-volume
// alerts of incident id as legitimate, to be learned by the mail watch.
// It returns the subjects marked (none: the incident has no such alert).
func MarkIncidentLegitimate(ctx context.Context, st store.Store, id int64, actor string, now time.Time) ([]string, error) {
	alerts, err := st.ListAlerts(ctx, store.AlertQuery{IncidentID: id, Limit: 100000})
	if err != nil {
		return nil, err
	}
	marks, err := loadMarks(ctx, st)
	if err != nil {
		return nil, err
	}
	var seq int64
	for _, m := range marks {
		seq = max(seq, m.Seq)
	}
	var subjects []string
	for _, a := range alerts {
		if a.Watch != WatchName || a.Rule != string(RuleAccountVolume) {
			continue
		}
		if _, err := subject.Parse(a.Subject); err != nil {
			continue
		}
		to := a.LastSeen
		if a.ResolvedAt.After(to) {
			to = a.ResolvedAt
		}
		seq++
		marks = append(marks, LegitimateMark{Seq: seq, Subject: a.Subject, From: a.FirstSeen, To: to, Actor: actor, At: now, Incident: id})
		subjects = append(subjects, a.Subject)
	}
	if len(subjects) == 0 {
		return nil, nil
	}
	if len(marks) > maxMarks {
		marks = marks[len(marks)-maxMarks:]
	}
	b, err := json.Marshal(marks)
	if err != nil {
		return nil, err
	}
	return subjects, st.PutState(ctx, WatchName, stateLegitimate, b)
}

// applyMarks learns the marks the engine has not applied yet (after seq)
// and returns the newest seq.
func applyMarks(ctx context.Context, st store.State, eng *Engine, seq int64) (int64, error) {
	marks, err := loadMarks(ctx, st)
	if err != nil {
		return seq, err
	}
	for _, m := range marks {
		if m.Seq > seq {
			eng.MarkLegitimate(m.Subject, m.From, m.To)
			seq = m.Seq
		}
	}
	return seq, nil
}
