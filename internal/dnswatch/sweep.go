package dnswatch

import (
	"context"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// A Drift is one kind of one domain that differs from what is expected.
type Drift struct {
	Domain   string
	Kind     Kind
	Expected string
	Observed string
	Server   string // the server that served the observed value
	TTL      uint32 // the TTL it was served with: how long caches may keep it
	TLD      string // the parent zone
}

// A DomainError is a domain (and kind) whose state could not be read in
// this sweep. It is never a drift.
type DomainError struct {
	Domain string
	Kind   Kind
	Class  string
	Err    string
}

// A Disagreement is a domain whose parent servers gave different answers:
// reported as such, without deciding which one is right.
type Disagreement struct {
	Domain  string
	Zone    string
	Kind    Kind
	Answers map[string]string // server -> value ("error: ..." when it failed)
	Serials map[string]uint32 // server -> SOA serial of the zone
}

// A SerialSplit is a parent zone whose servers serve different SOA
// serials: some have not loaded the registry's latest change.
type SerialSplit struct {
	Zone    string
	Serials map[string]uint32
}

// Result is what one sweep saw.
type Result struct {
	Started, Finished time.Time
	Full              bool // child-side records were checked too
	Domains           int
	Drifts            []Drift
	Disagreements     []Disagreement
	SerialSplits      []SerialSplit
	Errors            map[string]int // by class
	ErrorSamples      []DomainError  // the first few
	Learned           int            // values recorded as the baseline (first use)
	Queries           int64
	ZoneErrors        map[string]string // parent zones whose servers were not found
	// DNSSEC lists the domains whose chain is broken or whose signatures
	// expire soon (full sweeps); DNSSECChecked counts the domains with a
	// DS that were checked.
	DNSSEC        []SecCheck
	DNSSECChecked int
}

const maxErrorSamples = 50

type sweepState struct {
	mu      sync.Mutex
	drifts  []Drift
	samples []DomainError
	errs    [numErrClasses]int
}

func (s *sweepState) fail(d *domain, k Kind, err error) {
	c := classOf(err)
	d.errs[k] = c
	s.mu.Lock()
	s.errs[c]++
	if len(s.samples) < maxErrorSamples {
		s.samples = append(s.samples, DomainError{Domain: d.name, Kind: k, Class: c.String(), Err: err.Error()})
	}
	s.mu.Unlock()
}

func (s *sweepState) drift(dr Drift) {
	s.mu.Lock()
	s.drifts = append(s.drifts, dr)
	s.mu.Unlock()
}

// Sweep reads every domain's delegation from its parent servers and, when
// full, its records from its own servers, and compares both with what is
// expected. Values never seen before become the baseline (trust on first
// use) and are saved. An error for one domain is counted and sampled;
// Sweep itself fails only when ctx ends or the baseline cannot be saved.
func (m *Monitor) Sweep(ctx context.Context, full bool) (*Result, error) {
	res := &Result{Started: m.o.Now(), Full: full, Domains: len(m.active), Errors: map[string]int{}, ZoneErrors: map[string]string{}}
	sent0 := m.stats.sent.Load()
	if err := m.reloadBaseline(ctx); err != nil {
		return nil, err
	}
	m.nsCacheMu.Lock()
	m.nsCache = map[string][]netip.Addr{}
	m.nsCacheMu.Unlock()
	m.prepareZones(ctx)
	for _, z := range m.zones {
		if z.err != nil {
			res.ZoneErrors[z.name] = z.err.Error()
		}
	}
	res.SerialSplits = m.checkSerials(ctx)

	st := &sweepState{}
	for i := range m.domains {
		d := &m.domains[i]
		for k := Kind(0); k < numKinds; k++ {
			// the domains of shards not swept now forget what they showed
			// when this node last held them: another node sweeps them
			if k.Parent() || full || !m.owns(i) {
				d.obs[k], d.errs[k] = 0, errNone
			}
		}
	}
	act := m.active
	m.parallel(ctx, len(act), func(j int) { m.checkParent(ctx, st, int(act[j])) })
	if err := m.stopped(ctx); err != nil {
		return nil, err
	}
	res.Disagreements = m.verifyParentDrifts(ctx, st)
	if full {
		m.parallel(ctx, len(act)*len(childKinds), func(j int) {
			m.checkChild(ctx, st, int(act[j/len(childKinds)]), childKinds[j%len(childKinds)])
		})
		if err := m.stopped(ctx); err != nil {
			return nil, err
		}
		if !m.o.NoDNSSEC {
			m.sweepDNSSEC(ctx, res)
			if err := m.stopped(ctx); err != nil {
				return nil, err
			}
		}
	}
	// What a failed worker left unread must not be learned as a baseline.
	if err := m.stopped(ctx); err != nil {
		return nil, err
	}
	learnedIn := map[int]bool{}
	for _, i := range act {
		d := &m.domains[i]
		for k := Kind(0); k < numKinds; k++ {
			if d.base[k] == 0 && d.obs[k] != 0 {
				d.base[k] = d.obs[k]
				res.Learned++
				learnedIn[int(d.shard)] = true
			}
		}
	}
	if res.Learned > 0 {
		var err error
		if m.shared != nil {
			shards := make([]int, 0, len(learnedIn))
			for sh := range learnedIn {
				shards = append(shards, sh)
			}
			sort.Ints(shards)
			err = m.shared.save(ctx, m, shards, false)
		} else {
			err = m.baseline.save(m)
		}
		if err != nil {
			return nil, err
		}
	}
	res.Drifts = st.drifts
	sort.Slice(res.Drifts, func(i, j int) bool {
		a, b := res.Drifts[i], res.Drifts[j]
		if a.Domain != b.Domain {
			return a.Domain < b.Domain
		}
		return a.Kind < b.Kind
	})
	for c, n := range st.errs {
		if n > 0 {
			res.Errors[errClass(c).String()] = n
		}
	}
	res.ErrorSamples = st.samples
	res.Queries = m.stats.sent.Load() - sent0
	res.Finished = m.o.Now()
	return res, nil
}

// parallel runs fn(0..n-1) on InFlight goroutines; each holds one query
// in flight at a time, so InFlight bounds the queries outstanding.
func (m *Monitor) parallel(ctx context.Context, n int, fn func(i int)) {
	workers := m.o.InFlight
	if workers > n {
		workers = n
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A panic trips the breaker: the other workers stop taking
			// domains and the sweep returns it (m.stopped).
			m.client.brk.safe("dns sweep worker", func() {
				for m.stopped(ctx) == nil {
					i := int(next.Add(1) - 1)
					if i >= n {
						return
					}
					fn(i)
				}
			})
		}()
	}
	wg.Wait()
}

func (m *Monitor) compare(st *sweepState, d *domain, k Kind, obs valueID, server netip.AddrPort, ttl uint32) {
	d.obs[k] = obs
	exp := m.expected(d, k)
	if exp == 0 || exp == obs {
		return
	}
	st.drift(Drift{Domain: d.name, Kind: k, Expected: m.vals.value(exp), Observed: m.vals.value(obs),
		Server: server.String(), TTL: ttl, TLD: m.zones[d.zone].name})
}

// checkParent asks the parent for domain i's referral (NS, glue and, from
// a signed parent, DS) and, if the referral did not settle the DS, asks
// for the DS.
func (m *Monitor) checkParent(ctx context.Context, st *sweepState, i int) {
	d := &m.domains[i]
	z := &m.zones[d.zone]
	if z.err != nil {
		for _, k := range []Kind{KindNS, KindDS, KindGlue} {
			st.fail(d, k, qerr(errNoAddress, "servers of %s unknown: %v", z.name, z.err))
		}
		return
	}
	var ref referral
	srv, err := m.ask.askFast(ctx, z.servers, d.name, dns.TypeNS, true, func(raw []byte) (ok bool) {
		ref, ok = fastReferral(d.name, raw)
		return ok
	}, func(r *dns.Msg) (err error) {
		ref, err = parseReferral(d.name, r)
		return err
	})
	if err != nil {
		if ctx.Err() == nil {
			for _, k := range []Kind{KindNS, KindDS, KindGlue} {
				st.fail(d, k, err)
			}
		}
		return
	}
	m.compare(st, d, KindNS, m.vals.id(joinValues(ref.ns)), srv, ref.ttl)
	glueID := m.vals.id(joinValues(ref.glue))
	m.compare(st, d, KindGlue, glueID, srv, ref.ttl)
	addrs := ref.addrs
	glued := map[string]bool{}
	for _, g := range ref.glue {
		glued[g[:indexByte(g, ' ')]] = true
	}
	if len(glued) == len(ref.ns) {
		// Every name server has glue: the addresses follow from the glue
		// value, shared by most domains.
		m.addrMu.Lock()
		idx, ok := m.glueAddrs[glueID]
		m.addrMu.Unlock()
		if !ok {
			idx = m.addrSet(addrs)
			m.addrMu.Lock()
			m.glueAddrs[glueID] = idx
			m.addrMu.Unlock()
		}
		d.addrs = idx
	} else {
		for _, n := range ref.ns {
			if !glued[n] {
				if a, err := m.resolveAddrs(ctx, n); err == nil {
					addrs = append(addrs, a...)
				}
			}
		}
		d.addrs = m.addrSet(addrs)
	}
	if ref.dsKnown {
		m.compare(st, d, KindDS, m.vals.id(joinValues(ref.ds)), srv, ref.ttl)
		return
	}
	var ds []string
	var ttl uint32
	srv, err = m.ask.ask(ctx, z.servers, d.name, dns.TypeDS, true, func(r *dns.Msg) (err error) {
		ds, ttl, err = parseDS(d.name, r)
		return err
	})
	if err != nil {
		if ctx.Err() == nil {
			st.fail(d, KindDS, err)
		}
		return
	}
	m.compare(st, d, KindDS, m.vals.id(joinValues(ds)), srv, ttl)
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return len(s)
}

// checkChild asks domain i's own servers (as the parent delegates it now:
// a hijacked domain is asked at the rogue servers, which is what the
// world's resolvers see) for kind k.
func (m *Monitor) checkChild(ctx context.Context, st *sweepState, i int, k Kind) {
	d := &m.domains[i]
	if d.obs[KindNS] == 0 {
		return // the parent side failed: already counted
	}
	m.addrMu.Lock()
	addrs := m.addrSets[d.addrs]
	m.addrMu.Unlock()
	if len(addrs) == 0 {
		st.fail(d, k, qerr(errNoAddress, "no address for the name servers of %s (%s)", d.name, m.vals.value(d.obs[KindNS])))
		return
	}
	servers := make([]netip.AddrPort, len(addrs))
	for j, a := range addrs {
		servers[j] = netip.AddrPortFrom(a, m.o.ChildPort)
	}
	qname, qtype := childQuestion(d.name, k)
	var val string
	var ttl uint32
	srv, err := m.ask.ask(ctx, servers, qname, qtype, false, func(r *dns.Msg) (err error) {
		val, ttl, err = parseChild(d.name, k, r)
		return err
	})
	if err != nil {
		if ctx.Err() == nil {
			st.fail(d, k, err)
		}
		return
	}
	m.compare(st, d, k, m.vals.id(val), srv, ttl)
}

// sweepDNSSEC checks the chain of every swept domain the parent serves a
// DS for.
func (m *Monitor) sweepDNSSEC(ctx context.Context, res *Result) {
	var signed []int32
	for _, i := range m.active {
		d := &m.domains[i]
		if d.obs[KindDS] != 0 && m.vals.value(d.obs[KindDS]) != "" && d.obs[KindNS] != 0 {
			signed = append(signed, i)
		}
	}
	checks := make([]SecCheck, len(signed))
	m.parallel(ctx, len(signed), func(j int) { checks[j] = m.checkDNSSEC(ctx, int(signed[j])) })
	sec := make(map[int32]SecStatus, len(signed))
	for j, c := range checks {
		sec[signed[j]] = c.Status
		switch c.Status {
		case SecBroken, SecExpiring:
			res.DNSSEC = append(res.DNSSEC, c)
		case SecError:
			res.Errors["dnssec-"+c.Status.String()]++
		}
	}
	m.sec = sec
	res.DNSSECChecked = len(signed)
	sort.Slice(res.DNSSEC, func(i, j int) bool { return res.DNSSEC[i].Domain < res.DNSSEC[j].Domain })
}
