package ct

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"

	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
)

// logState is what is kept per log. Position, frontier and head change
// together in one PutState, after the entries up to Position were
// verified against Head; findings from those entries are written in the
// same record (Pending) before they are emitted and cleared after, so a
// kill -9 at any point neither skips nor repeats them.
type logState struct {
	Frontier  frontier        `json:"frontier"` // Frontier.Size is the position
	Head      Head            `json:"head"`
	Pending   []vigie.Finding `json:"pending,omitempty"`
	Malformed int64           `json:"malformed"`
}

const watchName = string(Name)

func stateKey(id [32]byte) string { return "log/" + base64.RawURLEncoding.EncodeToString(id[:]) }

func loadState(ctx context.Context, st store.State, id [32]byte) (*logState, error) {
	b, err := st.GetState(ctx, watchName, stateKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s logState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

func saveState(ctx context.Context, st store.State, id [32]byte, s *logState) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return st.PutState(ctx, watchName, stateKey(id), b)
}

// Position is how far a log has been read, verified and reported (0 if
// never): while the findings of the last window are still being emitted,
// that window does not count as done.
func Position(ctx context.Context, st store.State, k LogKey) (int64, error) {
	s, err := loadState(ctx, st, k.ID)
	if err != nil || s == nil {
		return 0, err
	}
	if len(s.Pending) > 0 {
		return s.Frontier.Size - 1, nil
	}
	return s.Frontier.Size, nil
}
