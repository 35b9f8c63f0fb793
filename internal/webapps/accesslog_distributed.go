package webapps

import (
	"time"
)

// DistributedSpec is the per-page failure rate across addresses: a
// password-guessing botnet sends one or two POSTs per address, which no
// per-address bucket sees, but the login page sees them all.
type DistributedSpec struct {
	// Failures within Window on one login page (one vhost and path)...
	Failures int `yaml:"failures"`
	// ...coming from at least this many addresses...
	Addresses int `yaml:"addresses"`
	// ...with at most this share of successful logins (3xx answers).
	MaxSuccessRatio float64       `yaml:"max_success_ratio"`
	Window          time.Duration `yaml:"window"`
}

// DefaultDistributed: 15 failed logins from 10 addresses within an hour,
// with fewer than 1 success in 5. People who mistype log in at the next
// try, so a busy site's ratio stays high; a botnet's never does.
func DefaultDistributed() DistributedSpec {
	return DistributedSpec{Failures: 15, Addresses: 10, MaxSuccessRatio: 0.2, Window: time.Hour}
}

// loginPage is the state of one login page: the recent failures (time and
// address) in a ring, and the recent successes' times.
type loginPage struct {
	fails     []loginEvent // ring, oldest first after trim
	successes []time.Time
	emitted   time.Time
	fired     bool
}

type loginEvent struct {
	t  time.Time
	ip string
}

// maxLoginEvents bounds each page's memory: a page under attack keeps the
// last 256 failures, which is enough to count addresses against any
// sensible threshold.
const maxLoginEvents = 256

// record adds one login attempt and reports whether the page now crosses
// the spec (first crossing, or again after repeat while it stays over).
func (p *loginPage) record(spec DistributedSpec, ip []byte, t time.Time, ok bool, repeat time.Duration) (failures, addresses int, due bool) {
	cut := t.Add(-spec.Window)
	if ok {
		p.successes = append(trimTimes(p.successes, cut), t)
		if len(p.successes) > maxLoginEvents {
			p.successes = p.successes[len(p.successes)-maxLoginEvents:]
		}
	} else {
		p.fails = append(trimEvents(p.fails, cut), loginEvent{t: t, ip: string(ip)})
		if len(p.fails) > maxLoginEvents {
			p.fails = p.fails[len(p.fails)-maxLoginEvents:]
		}
	}
	p.fails = trimEvents(p.fails, cut)
	p.successes = trimTimes(p.successes, cut)
	failures = len(p.fails)
	if failures < spec.Failures {
		p.fired = false
		return failures, 0, false
	}
	seen := make(map[string]struct{}, failures)
	for _, e := range p.fails {
		seen[e.ip] = struct{}{}
	}
	addresses = len(seen)
	ratio := float64(len(p.successes)) / float64(failures+len(p.successes))
	if addresses < spec.Addresses || ratio > spec.MaxSuccessRatio {
		p.fired = false
		return failures, addresses, false
	}
	if !p.fired || t.Sub(p.emitted) >= repeat {
		p.fired, p.emitted = true, t
		return failures, addresses, true
	}
	return failures, addresses, false
}

func (p *loginPage) empty(cut time.Time) bool {
	return (len(p.fails) == 0 || p.fails[len(p.fails)-1].t.Before(cut)) &&
		(len(p.successes) == 0 || p.successes[len(p.successes)-1].Before(cut))
}

func trimEvents(e []loginEvent, cut time.Time) []loginEvent {
	i := 0
	for i < len(e) && e[i].t.Before(cut) {
		i++
	}
	if i == 0 {
		return e
	}
	return append(e[:0], e[i:]...)
}

func trimTimes(e []time.Time, cut time.Time) []time.Time {
	i := 0
	for i < len(e) && e[i].Before(cut) {
		i++
	}
	if i == 0 {
		return e
	}
	return append(e[:0], e[i:]...)
}
