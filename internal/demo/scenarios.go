// Package demo replays the four incidents vigie exists for through the
// watches' own detectors and loads what they find into a store through the
// real alert pipeline, so `vigie demo` shows a newcomer what the dashboard
// looks like on a bad day. Nothing is hand-written as a finding: each
// scenario is bundled input (a Postfix log written by mailgen, a Drupal
// tree and its access log, DNS zones served on loopback, a certificate in
// a CT log served on loopback) and the findings are whatever the detectors
// make of it. Times are relative to now: the demo always looks live.
package demo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
)

// Env is what a scenario runs with.
type Env struct {
	// Store holds what the scenarios before this one emitted (the CT
	// watch looks up the DNS incident there); a scenario may keep its
	// watch's state in it, as the daemon would.
	Store store.Store
	Now   time.Time
	// Dir is a temporary directory of the scenario's own, removed after.
	Dir string
}

// Result is what the detectors reported while a scenario was replayed.
type Result struct {
	Findings []vigie.Finding
	Samples  []vigie.Sample
}

// Scenario is one incident, replayed through the real detectors.
type Scenario struct {
	Name  string
	Title string
	Run   func(ctx context.Context, env *Env) (Result, error)
}

// Scenarios are the four incidents of the design brief, in the order they
// must run: the certificate is matched against the DNS incident.
func Scenarios() []Scenario {
	return []Scenario{stolenPassword(), drupalRelay(), nsHijack(), certInWindow()}
}

// collector gathers findings emitted by a detector.
type collector struct{ out []vigie.Finding }

func (c *collector) emit(f vigie.Finding) { c.out = append(c.out, f) }

// Emit implements alert.Sink and dnswatch.Emitter.
func (c *collector) Emit(_ context.Context, f vigie.Finding) error { c.emit(f); return nil }

// lines calls fn for each line of s.
func lines(s string, fn func(string)) {
	for s != "" {
		line, rest, _ := strings.Cut(s, "\n")
		fn(line)
		s = rest
	}
}

func errorf(sc, format string, args ...any) error {
	return fmt.Errorf("demo %s: "+format, append([]any{sc}, args...)...)
}
