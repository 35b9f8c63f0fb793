package incident

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/notify"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
)

// Brief tells incident in for a notification, from its report as of now:
// the headline, what vigie (or an admin) did, the next step of the
// checklist with its command, and the incident's page under baseURL (the
// dashboard's external URL; empty: no link).
func Brief(ctx context.Context, s store.Store, in vigie.Incident, now time.Time, baseURL string) (*notify.Brief, error) {
	r, err := Build(ctx, s, in.ID, now)
	if err != nil {
		return nil, err
	}
	b := &notify.Brief{Headline: r.Story.Headline, Did: r.did(), Next: r.next()}
	if baseURL != "" {
		b.URL = strings.TrimRight(baseURL, "/") + "/incidents/" + strconv.FormatInt(in.ID, 10)
	}
	return b, nil
}

// did says what was done about the incident so far: its actions (holds,
// suspensions, purges, approvals), newest last, else what vigie did.
func (r *Report) did() string {
	if n := len(r.Actions); n > 0 {
		var parts []string
		for _, e := range r.Actions[max(0, n-3):] {
			parts = append(parts, fmt.Sprintf("%s at %s: %s", e.Actor, e.Time.UTC().Format("15:04"), e.Text))
		}
		s := strings.Join(parts, "; ")
		if n > 3 {
			s = fmt.Sprintf("%d actions, the last: %s", n, s)
		}
		return s
	}
	return fmt.Sprintf("raised %s and notified; no hold or other action yet", plural(len(r.Alerts), "alert"))
}

// next is the first step of the checklist not done yet (acknowledging
// comes after the first real step: it is not what stops the attack).
func (r *Report) next() string {
	var ack *Step
	for i := range r.Checklist {
		st := &r.Checklist[i]
		if st.Done {
			continue
		}
		if st.How == "" && strings.HasPrefix(st.Text, "Acknowledge") {
			if ack == nil {
				ack = st
			}
			continue
		}
		return stepLine(st)
	}
	if ack != nil {
		return stepLine(ack)
	}
	return "nothing left: every step of the checklist is done"
}

func stepLine(st *Step) string {
	s := st.Text
	switch {
	case st.Command != "":
		s += ": " + st.Command
	case st.URL != "":
		s += ": " + st.URL
	}
	return s
}
