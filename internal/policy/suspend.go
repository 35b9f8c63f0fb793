package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/store"
)

// StateWatch is the store namespace of the policy server's state.
const StateWatch = "policy"

const suspensionsKey = "suspensions"

// A Suspension stops every new message of one account: Postfix gets the
// configured answer (HOLD by default) until the account is resumed.
type Suspension struct {
	Name    string    `json:"name"` // the SASL account (or sender) as given
	By      string    `json:"by"`   // "vigie" or the admin
	At      time.Time `json:"at"`
	Reason  string    `json:"reason"`
	AlertID int64     `json:"alert_id,omitempty"`
}

// LoadSuspensions returns the suspended accounts, keyed by lower-cased
// name. They live in the store, so the daemon, the command line and other
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

// suspensionKey is how names are compared: SASL account names and
// addresses are not case-sensitive in practice.
func suspensionKey(name string) string { return strings.ToLower(name) }
