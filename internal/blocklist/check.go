package blocklist

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/miekg/dns"

	"github.com/vigie/vigie/internal/task"
)

// A Result is the verdict for one target on one zone: one line of
// `vigie blocklist check --json`.
type Result struct {
	Target    string   `json:"target"`
	Zone      string   `json:"zone"`
	Status    Status   `json:"status"`
	Codes     []string `json:"codes"`
	Meanings  []string `json:"meanings,omitempty"`
	Reason    string   `json:"reason"` // the list's TXT when listed; why, when unknown
	DelistURL string   `json:"delist_url"`
	List      string   `json:"list"` // the list's name for people
	Source    string   `json:"source,omitempty"`

	zone *Zone
}

// ZoneHealth is the outcome of a zone's health check.
type ZoneHealth struct {
	Zone string
	OK   bool
	Why  string // "unknown, because ..." when not OK
}

// A Report is one round of checks.
type Report struct {
	Zones   []ZoneHealth
	Results []Result
	Queries int // DNS queries sent
}

// Checker checks targets against zones through a resolver.
type Checker struct {
	Zones    []*Zone
	Resolver *Resolver
	// Parallel bounds the queries in flight (default 8): lists ask for
	// restraint and a small resolver should not be flooded.
	Parallel int
}

// Check health-checks every zone that applies to a target, then looks
// each target up in each healthy zone that applies to it. A zone that
// fails its check is not queried for the targets: they are unknown, with
// the zone's reason. Results are in target order, then zone order.
func (c *Checker) Check(ctx context.Context, targets []Target) Report {
	var rep Report
	used := map[*Zone]bool{}
	for _, z := range c.Zones {
		for _, t := range targets {
			if z.Applies(t) {
				used[z] = true
				break
			}
		}
	}
	health := map[*Zone]ZoneHealth{}
	var mu sync.Mutex
	var queries int
	c.each(ctx, len(c.Zones), func(i int) {
		z := c.Zones[i]
		if !used[z] {
			return
		}
		h, n := c.health(ctx, z)
		mu.Lock()
		health[z] = h
		queries += n
		mu.Unlock()
	})
	for _, z := range c.Zones {
		if h, ok := health[z]; ok {
			rep.Zones = append(rep.Zones, h)
		}
	}
	type pair struct {
		t Target
		z *Zone
	}
	var pairs []pair
	for _, t := range targets {
		for _, z := range c.Zones {
			if z.Applies(t) {
				pairs = append(pairs, pair{t, z})
			}
		}
	}
	rep.Results = make([]Result, len(pairs))
	c.each(ctx, len(pairs), func(i int) {
		p := pairs[i]
		r := Result{Target: p.t.Name, Zone: p.z.Zone, List: p.z.Name, DelistURL: p.z.DelistURL, Source: p.t.Source, Codes: []string{}, zone: p.z}
		if h := health[p.z]; !h.OK {
			r.Status, r.Reason = Unknown, h.Why
			rep.Results[i] = r
			return
		}
		v, reason, n := c.lookup(ctx, p.z, p.t, true)
		mu.Lock()
		queries += n
		mu.Unlock()
		r.Status, r.Meanings = v.Status, v.Meanings
		if v.Codes != nil {
			r.Codes = v.Codes
		}
		r.Reason = reason
		if v.Status == Unknown {
			r.Reason = v.Why
		}
		rep.Results[i] = r
	})
	rep.Queries = queries
	return rep
}

// lookup asks zone z about t: A for the verdict, then TXT for the reason
// when listed (and wantReason). It returns the verdict, the reason and
// the number of queries sent.
func (c *Checker) lookup(ctx context.Context, z *Zone, t Target, wantReason bool) (verdict, string, int) {
	name, err := queryName(t, z.Zone)
	if err != nil {
		return unknown("%v", err), "", 0
	}
	var l lookup
	resp, err := c.Resolver.Query(ctx, name, dns.TypeA)
	if err != nil {
		l.Err = err
	} else {
		l = lookupOf(resp)
	}
	v := z.judge(l)
	if v.Status != Listed || !wantReason {
		return v, "", 1
	}
	txt, err := c.Resolver.Query(ctx, name, dns.TypeTXT)
	if err != nil {
		return v, fmt.Sprintf("(no TXT reason: %v)", err), 2
	}
	if txt.Rcode != dns.RcodeSuccess {
		return v, fmt.Sprintf("(no TXT reason: %s)", rcodeName(txt.Rcode)), 2
	}
	return v, reasonOf(txt), 2
}

// health checks z's test entries: each "listed" one must be listed, each
// "clear" one must not be. A zone that lists its clear entry lists
// everything (a lapsed domain, a shut-down list answering yes to all).
func (c *Checker) health(ctx context.Context, z *Zone) (ZoneHealth, int) {
	h := ZoneHealth{Zone: z.Zone, OK: true}
	n := 0
	fail := func(format string, args ...any) {
		h.OK = false
		h.Why = "unknown, because the zone failed its health check: " + fmt.Sprintf(format, args...)
	}
	for _, e := range z.Health.Listed {
		t, err := ParseTarget(e)
		if err != nil {
			fail("test entry %q: %v", e, err)
			return h, n
		}
		v, _, q := c.lookup(ctx, z, t, false)
		n += q
		switch v.Status {
		case Unknown:
			fail("test entry %s: %s", e, strings.TrimPrefix(v.Why, "unknown, because "))
			return h, n
		case Clear:
			fail("its test entry %s, which must be listed, is not (the resolver may be refused by the list, or the list is gone)", e)
			return h, n
		}
	}
	for _, e := range z.Health.Clear {
		t, err := ParseTarget(e)
		if err != nil {
			fail("test entry %q: %v", e, err)
			return h, n
		}
		v, _, q := c.lookup(ctx, z, t, false)
		n += q
		switch v.Status {
		case Unknown:
			fail("test entry %s: %s", e, strings.TrimPrefix(v.Why, "unknown, because "))
			return h, n
		case Listed:
			fail("it lists everything: its test entry %s, which must never be listed, is listed with %s (a lapsed domain or a shut-down list answering yes to every query)",
				e, strings.Join(v.Codes, ", "))
			return h, n
		}
	}
	return h, n
}

// each runs fn(0..n-1) with at most Parallel at a time and waits for all.
func (c *Checker) each(ctx context.Context, n int, fn func(i int)) {
	par := c.Parallel
	if par <= 0 {
		par = 8
	}
	sem := make(chan struct{}, par)
	// A lookup's panic (a resolver's answer a parser did not expect) is
	// re-raised by Wait in the caller's goroutine, the watch's, whose
	// supervisor restarts the blocklist watch alone.
	var ws task.Workers
	defer ws.Wait()
	for i := 0; i < n && !ws.Failed(); i++ {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			// The rest are not run; their results stay zero and the
			// caller sees ctx.Err().
			return
		}
		ws.Go("blocklist lookup", func() {
			defer func() { <-sem }()
			fn(i)
		})
	}
}
