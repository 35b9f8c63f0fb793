package policy

import (
	"context"
	"time"

	"github.com/vigie/vigie/internal/vigie"
)

// findingEvery is how often one subject's over-limit finding is repeated
// while it stays over: often enough to keep its alert firing, rarely
// enough that a spam run is a handful of store writes, not thousands.
const findingEvery = 10 * time.Second

// emitFindings sends over-limit findings to the alert pipeline, off the
// answer path.
func (s *Server) emitFindings(ctx context.Context) {
	last := map[string]time.Time{}
	prune := time.NewTicker(time.Minute)
	defer prune.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-prune.C:
			for k, t := range last {
				if s.now().Sub(t) > findingEvery {
					delete(last, k)
				}
			}
		case o := <-s.findings:
			k := o.kind + ":" + o.name
			if t, ok := last[k]; ok && o.at.Sub(t) < findingEvery && o.at.After(t) {
				continue
			}
			last[k] = o.at
			if s.sink == nil {
				continue
			}
			action := s.cfg.OverLimit.Action
			f := vigie.Finding{Watch: "policy", Rule: "over-limit", Subject: o.name, Severity: vigie.SeverityWarning,
				Time: o.at, Summary: o.summary(action), Evidence: o.evidence(action)}
			if err := s.sink.Emit(ctx, f); err != nil && ctx.Err() == nil {
				s.log.Error("policy: emitting a finding", "err", err)
			}
		}
	}
}
