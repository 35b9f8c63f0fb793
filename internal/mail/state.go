package mail

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// engineState is the detectors' state saved in the store, so that a
// restart (or an upgrade) resumes with the same windows, open alarms and
// habits as if it had not happened: with the cursor saved beside it, the
// lines after it are read again into exactly this state, and the daemon
// gives the findings `vigie replay` gives on the same log.
type engineState struct {
	Version  int                      `json:"version"`
	Now      time.Time                `json:"now"`
	Volume   map[string]*SubjectState `json:"volume"`
	Nets     map[string]*UserNetworks `json:"networks"`
	ByIP     map[string]*events       `json:"failures_ip"`
	ByUser   map[string]*events       `json:"failures_user"`
	ByNet    map[string]*events       `json:"failures_network"`
	Messages []savedMessage           `json:"messages"`
	// Legit is the last legitimate mark applied (see LegitimateMark).
	Legit int64 `json:"legitimate_seq"`
}

type savedMessage struct {
	Origin
	Counted bool `json:"counted,omitempty"`
}

const engineStateVersion = 1

// Snapshot returns the engine's detector state (see engineState).
func (e *Engine) Snapshot() ([]byte, error) {
	st := engineState{Version: engineStateVersion, Now: e.now, Volume: e.volume.subjects, Nets: e.nets.users,
		ByIP: e.byIP.subjects, ByUser: e.byUser.subjects, ByNet: e.byNet.subjects, Legit: e.legitSeq}
	e.index.mu.RLock()
	for _, m := range e.index.msgs {
		if m.fromLog {
			st.Messages = append(st.Messages, savedMessage{Origin: m.Origin, Counted: m.counted})
		}
	}
	e.index.mu.RUnlock()
	return json.Marshal(st)
}

// Restore loads a state saved by Snapshot into an engine that has read
// nothing yet.
func (e *Engine) Restore(b []byte) error {
	var st engineState
	if err := json.Unmarshal(b, &st); err != nil {
		return err
	}
	if st.Version != engineStateVersion {
		return fmt.Errorf("mail state version %d, want %d", st.Version, engineStateVersion)
	}
	e.legitSeq = st.Legit
	if !st.Now.IsZero() {
		e.now = st.Now
		e.minute, e.hour = st.Now.Unix()/60, st.Now.Unix()/3600
		e.sampled = e.minute - 1
	}
	for name, s := range st.Volume {
		if s != nil {
			e.volume.subjects[name] = s
			e.volume.subject(name) // fit the habit ring to habit_days
		}
	}
	for name, u := range st.Nets {
		if u != nil {
			e.nets.users[name] = u
		}
	}
	for _, f := range []struct {
		dst *failures
		src map[string]*events
	}{{e.byIP, st.ByIP}, {e.byUser, st.ByUser}, {e.byNet, st.ByNet}} {
		for k, v := range f.src {
			if v != nil {
				f.dst.subjects[k] = v
			}
		}
	}
	x := e.index
	x.mu.Lock()
	for _, sm := range st.Messages {
		if sm.QueueID == "" {
			continue
		}
		m := &message{Origin: sm.Origin, counted: sm.Counted, fromLog: true}
		x.msgs[m.QueueID] = m
		addTo(x.byAcct, m.Account(), m.QueueID)
		if m.Sender != "" {
			addTo(x.bySndr, strings.ToLower(m.Sender), m.QueueID)
		}
	}
	x.mu.Unlock()
	return nil
}
