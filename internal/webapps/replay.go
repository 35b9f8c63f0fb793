package webapps

import (
	"time"

	"github.com/vigie/vigie/internal/vigie"
)

// ReplaySet runs the access-log detectors under `vigie replay`: it claims
// the lines that parse as an access log, keeps their time as its clock and
// emits what the detectors find, exactly as the daemon's log follower does.
type ReplaySet struct {
	d    *LogDetector
	emit func(vigie.Finding)
}

// NewReplaySet returns a replay set over a detector built from o.
func NewReplaySet(o LogOptions, emit func(vigie.Finding)) *ReplaySet {
	return &ReplaySet{d: NewLogDetector(o), emit: emit}
}

// Name implements replay.Set.
func (s *ReplaySet) Name() string { return "access-log" }

// Line implements replay.Set: a line that is not an access-log line is not
// claimed (and not counted as bad: another set may read it).
func (s *ReplaySet) Line(line string) (time.Time, bool) {
	if err := s.d.p.Parse([]byte(line), &s.d.req); err != nil {
		return time.Time{}, false
	}
	s.d.stats.Lines++
	at := s.d.req.Time
	for _, f := range s.d.Feed(&s.d.req) {
		s.emit(f)
	}
	return at, true
}

// Tick implements replay.Set; the buckets leak on each line's own time, so
// there is nothing to do between lines.
func (s *ReplaySet) Tick(time.Time) {}
