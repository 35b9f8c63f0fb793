package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/mail/subject"
	"github.com/vigie/vigie/internal/mailqueue"
	"github.com/vigie/vigie/internal/store"
)

// StateWatch is the store namespace of the policy server's state.
const StateWatch = "policy"

const suspensionsKey = "suspensions"

// A Suspension stops every new message of one subject (a SASL account, a
// local uid, an SMTP client): the gate holds them (the policy server gives
// the configured answer, HOLD by default) until the subject is resumed.
type Suspension struct {
	Name    string    `json:"name"` // the subject's string form, as given (subject.String)
	By      string    `json:"by"`   // "vigie" or the admin
	At      time.Time `json:"at"`
	Reason  string    `json:"reason"`
	AlertID int64     `json:"alert_id,omitempty"`
}

// LoadSuspensions returns the suspended subjects, keyed by SuspensionKey. They live in the store, so the daemon, the command line and other
// nodes sharing the store all see the same set.
func LoadSuspensions(ctx context.Context, st store.State) (map[string]Suspension, error) {
	b, err := st.GetState(ctx, StateWatch, suspensionsKey)
	if errors.Is(err, store.ErrNotFound) {
		return map[string]Suspension{}, nil
	}
	if err != nil {
		return nil, err
	}
	m := map[string]Suspension{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("suspensions record is damaged: %w", err)
	}
	return m, nil
}

func saveSuspensions(ctx context.Context, st store.State, m map[string]Suspension) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return st.PutState(ctx, StateWatch, suspensionsKey, b)
}

// SuspensionKey is how subjects are compared: the string form, a SASL
// account's name lower-cased (not case-sensitive in practice). A SASL
// account literally named "uid:33" is "sasl:uid:33", never the uid.
func SuspensionKey(s subject.Subject) string {
	s = s.Key()
	if s.Kind == subject.KindSASL {
		s.User = strings.ToLower(s.User)
	}
	return s.String()
}

// CriteriaFor returns the queue criteria that select a subject's mail.
func CriteriaFor(s subject.Subject) mailqueue.Criteria {
	switch s.Kind {
	case subject.KindSASL:
		return mailqueue.Criteria{SASLUser: s.User, UID: -1}
	case subject.KindUID:
		return mailqueue.Criteria{UID: s.UID}
	case subject.KindClient:
		return mailqueue.Criteria{Client: s.Addr, UID: -1}
	}
	return mailqueue.Criteria{UID: -1}
}

// SubjectFlag is the command-line flag naming s for `vigie mail`, quoted
// for a shell: "--sasl-user 'x y'", "--uid 33", "--client 127.0.0.1".
func SubjectFlag(s subject.Subject) string {
	switch s.Kind {
	case subject.KindUID:
		return "--uid " + strconv.Itoa(s.UID)
	case subject.KindClient:
		return "--client " + s.Addr.String()
	}
	return "--sasl-user " + shellQuote(s.User)
}
