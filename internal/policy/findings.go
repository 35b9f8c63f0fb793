package policy

import (
	"context"
	"fmt"
	"time"

	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
)

// WatchName is the policy server's watch name in findings and alerts.
const WatchName = "policy"

// Rules of the policy server's findings.
const (
	// RuleOverLimit: a subject's message went over its limits. Critical
	// (and contained) once the subject kept sending past
	// containment.over_limit_messages of them.
	RuleOverLimit watch.RuleName = "over-limit"
	// RuleContained: vigie contained a subject; its summary says what was
	// done and how to undo it. Resolved when the subject is resumed.
	RuleContained watch.RuleName = "contained"
	// RuleSharedStoreUnavailable: the store the nodes share their counts
	// through does not answer; each node counts alone.
	RuleSharedStoreUnavailable watch.RuleName = "shared-store-unavailable"
)

// findingEvery is how often one subject's over-limit finding is repeated
// while it stays over: often enough to keep its alert firing, rarely
// enough that a spam run is a handful of store writes, not thousands.
const findingEvery = 10 * time.Second

// overRun is one subject's run of over-limit messages: a run ends when
// the subject has had nothing over its limits for longer than the window
// that stopped it.
type overRun struct {
	first, last time.Time
	n           int
	critical    bool
}

// emitFindings sends over-limit findings to the alert pipeline, off the
// answer path.
func (s *Server) emitFindings(ctx context.Context) {
	last := map[string]time.Time{}
	runs := map[string]*overRun{}
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
			for k, r := range runs {
				if s.now().Sub(r.last) > 24*time.Hour {
					delete(runs, k)
				}
			}
		case o := <-s.findings:
			k := o.subj.String()
			r := runs[k]
			if r == nil || o.at.Sub(r.last) > o.verdict.Limit.Window {
				r = &overRun{first: o.at}
				runs[k] = r
			}
			r.n++
			r.last = o.at
			sev := vigie.SeverityWarning
			crossed := false
			if r.n >= s.cfg.Containment.OverLimitMessages {
				sev = vigie.SeverityCritical
				crossed = !r.critical
				r.critical = true
			}
			if t, ok := last[k]; ok && !crossed && o.at.Sub(t) < findingEvery && o.at.After(t) {
				continue
			}
			last[k] = o.at
			if s.sink == nil {
				continue
			}
			summary := o.summary(o.action)
			ev := o.evidence(o.action)
			ev["over_limit_messages"] = fmt.Sprint(r.n)
			if sev == vigie.SeverityCritical {
				summary = fmt.Sprintf("%s; it kept sending: %d messages over its limit since %s, a compromise", summary, r.n, r.first.UTC().Format(time.TimeOnly))
			}
			f := vigie.Finding{Watch: WatchName, Rule: string(RuleOverLimit), Subject: k, Severity: sev,
				Time: o.at, Summary: summary, Evidence: ev}
			if err := s.sink.Emit(ctx, f); err != nil && ctx.Err() == nil {
				s.log.Error("policy: emitting a finding", "err", err)
			}
		}
	}
}
