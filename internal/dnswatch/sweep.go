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
	m.pipeline(ctx, len(act), func(j int, done func()) { m.checkParent(ctx, st, int(act[j]), done) })
	if err := m.stopped(ctx); err != nil {
		return nil, err
	}
	res.Disagreements = m.verifyParentDrifts(ctx, st)
	if full {
		m.pipeline(ctx, len(act)*len(childKinds), func(j int, done func()) {
			m.checkChild(ctx, st, int(act[j/len(childKinds)]), childKinds[j%len(childKinds)], done)
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

// pipeline runs fn(0..n-1) with at most InFlight of them unfinished at
// once, without a goroutine each: fn starts its work (queries whose
// callbacks carry it on) and calls done once when it is over, before it
// returns or later from the client's goroutines; done starts the next
// one. It returns when every started fn is done. When ctx ends, no new
// fn starts and the queries in flight are ended.
func (m *Monitor) pipeline(ctx context.Context, n int, fn func(i int, done func())) {
	lanes := min(m.o.InFlight, n)
	if lanes <= 0 {
		return
	}
	p := &pipe{stop: func() error { return m.stopped(ctx) }, n: int64(n), fn: fn, over: make(chan struct{})}
	ls := make([]lane, lanes)
	for i := range ls {
		ls[i].p = p
		ls[i].doneFn = ls[i].done
	}
	// The lanes start here; then they run on the client's goroutines,
	// whose panics trip the same breaker.
	p.left.Store(1)
	m.client.brk.safe("dns sweep worker", func() {
		for i := range ls {
			p.left.Add(1)
			ls[i].run()
		}
	})
	p.lanesOver()
	select {
	case <-p.over:
	case <-ctx.Done():
		m.client.abortCtx(ctx)
		<-p.over
	case <-m.client.brk.done():
		<-p.over // the breaker ends the queries in flight
	}
}

type pipe struct {
	stop func() error // why to start no more
	n    int64
	next atomic.Int64
	left atomic.Int64 // lanes still running, and the start while it runs
	fn   func(int, func())
	over chan struct{}
}

// lane runs one fn after the other. state: 0 between fns (done will
// call run), 1 in fn, 2 in fn and done already called (run loops: no
// recursion however many fns end at once).
type lane struct {
	p      *pipe
	state  atomic.Int32
	doneFn func()
}

func (l *lane) run() {
	p := l.p
	for {
		i := p.next.Add(1) - 1
		if i >= p.n || p.stop() != nil {
			p.lanesOver()
			return
		}
		l.state.Store(1)
		p.fn(int(i), l.doneFn)
		if l.state.CompareAndSwap(1, 0) {
			return // done comes later
		}
	}
}

func (p *pipe) lanesOver() {
	if p.left.Add(-1) == 0 {
		close(p.over)
	}
}

func (l *lane) done() {
	if l.state.CompareAndSwap(1, 2) {
		return // fn is still running: run goes on
	}
	l.run()
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

// parentCheck is one domain's parent-side check between its events.
type parentCheck struct {
	m   *Monitor
	ctx context.Context
	st  *sweepState
	d   *domain
	z   *zone
	ref referral
	ds  []string
	ttl uint32
	end func() // the check is over
}

// checkParent asks the parent for domain i's referral (NS, glue and, from
// a signed parent, DS) and, if the referral did not settle the DS, asks
// for the DS; done is called at the end.
func (m *Monitor) checkParent(ctx context.Context, st *sweepState, i int, done func()) {
	d := &m.domains[i]
	z := &m.zones[d.zone]
	if z.err != nil {
		for _, k := range []Kind{KindNS, KindDS, KindGlue} {
			st.fail(d, k, qerr(errNoAddress, "servers of %s unknown: %v", z.name, z.err))
		}
		done()
		return
	}
	pc := &parentCheck{m: m, ctx: ctx, st: st, d: d, z: z, end: done}
	m.ask.askAsync(ctx, z.servers, d.name, dns.TypeNS, true, pc)
}

func (pc *parentCheck) fast(raw []byte) (ok bool) {
	pc.ref, ok = fastReferral(pc.d.name, raw)
	return ok
}

func (pc *parentCheck) parse(r *dns.Msg) (err error) {
	pc.ref, err = parseReferral(pc.d.name, r)
	return err
}

func (pc *parentCheck) failAll(err error) {
	if pc.ctx.Err() == nil {
		for _, k := range []Kind{KindNS, KindDS, KindGlue} {
			pc.st.fail(pc.d, k, err)
		}
	}
	pc.end()
}

// done reads the referral.
func (pc *parentCheck) done(srv netip.AddrPort, err error) {
	if err != nil {
		pc.failAll(err)
		return
	}
	m, d, ref := pc.m, pc.d, &pc.ref
	m.compare(pc.st, d, KindNS, m.vals.id(joinValues(ref.ns)), srv, ref.ttl)
	glueID := m.vals.id(joinValues(ref.glue))
	m.compare(pc.st, d, KindGlue, glueID, srv, ref.ttl)
	if allGlued(ref.ns, ref.glue) {
		// Every name server has glue: the addresses follow from the glue
		// value, shared by most domains.
		m.addrMu.Lock()
		idx, ok := m.glueAddrs[glueID]
		m.addrMu.Unlock()
		if !ok {
			idx = m.addrSet(ref.addrs)
			m.addrMu.Lock()
			m.glueAddrs[glueID] = idx
			m.addrMu.Unlock()
		}
		d.addrs = idx
		pc.dsStep(srv)
		return
	}
	// Name servers without glue: their addresses are asked and waited
	// for, on a goroutine of their own (the client's must not wait).
	go m.client.brk.safe("dns glue lookup", func() {
		addrs := ref.addrs
		for _, n := range ref.ns {
			if !hasGlue(n, ref.glue) {
				if a, err := m.resolveAddrs(pc.ctx, n); err == nil {
					addrs = append(addrs, a...)
				}
			}
		}
		d.addrs = m.addrSet(addrs)
		pc.dsStep(srv)
	})
}

// dsStep takes the DS from the referral or asks for it.
func (pc *parentCheck) dsStep(srv netip.AddrPort) {
	m, d := pc.m, pc.d
	if pc.ref.dsKnown {
		m.compare(pc.st, d, KindDS, m.vals.id(joinValues(pc.ref.ds)), srv, pc.ref.ttl)
		pc.end()
		return
	}
	m.ask.askAsync(pc.ctx, pc.z.servers, d.name, dns.TypeDS, true, &askFuncs{parseFn: func(r *dns.Msg) (err error) {
		pc.ds, pc.ttl, err = parseDS(d.name, r)
		return err
	}, doneFn: func(srv netip.AddrPort, err error) {
		if err != nil {
			if pc.ctx.Err() == nil {
				pc.st.fail(d, KindDS, err)
			}
		} else {
			m.compare(pc.st, d, KindDS, m.vals.id(joinValues(pc.ds)), srv, pc.ttl)
		}
		pc.end()
	}})
}

// allGlued says whether every name server has glue ("name address").
func allGlued(ns, glue []string) bool {
	for _, n := range ns {
		if !hasGlue(n, glue) {
			return false
		}
	}
	return true
}

func hasGlue(n string, glue []string) bool {
	for _, g := range glue {
		if len(g) > len(n) && g[len(n)] == ' ' && g[:len(n)] == n {
			return true
		}
	}
	return false
}

// childCheck is one domain's check of one child-side kind.
type childCheck struct {
	m   *Monitor
	ctx context.Context
	st  *sweepState
	d   *domain
	k   Kind
	val string
	ttl uint32
	end func() // the check is over
}

// checkChild asks domain i's own servers (as the parent delegates it now:
// a hijacked domain is asked at the rogue servers, which is what the
// world's resolvers see) for kind k; done is called at the end.
func (m *Monitor) checkChild(ctx context.Context, st *sweepState, i int, k Kind, done func()) {
	d := &m.domains[i]
	if d.obs[KindNS] == 0 {
		done()
		return // the parent side failed: already counted
	}
	m.addrMu.Lock()
	addrs := m.addrSets[d.addrs]
	m.addrMu.Unlock()
	if len(addrs) == 0 {
		st.fail(d, k, qerr(errNoAddress, "no address for the name servers of %s (%s)", d.name, m.vals.value(d.obs[KindNS])))
		done()
		return
	}
	servers := m.childServers(d.addrs, addrs)
	cc := &childCheck{m: m, ctx: ctx, st: st, d: d, k: k, end: done}
	qname, qtype := childQuestion(d.name, k)
	m.ask.askAsync(ctx, servers, qname, qtype, false, cc)
}

// childServers is the address set idx with the child port, built once a
// sweep per set (millions of domains share a hoster's few sets).
func (m *Monitor) childServers(idx uint32, addrs []netip.Addr) []netip.AddrPort {
	m.addrMu.Lock()
	defer m.addrMu.Unlock()
	if int(idx) < len(m.childSrv) && m.childSrv[idx] != nil {
		return m.childSrv[idx]
	}
	servers := make([]netip.AddrPort, len(addrs))
	for j, a := range addrs {
		servers[j] = netip.AddrPortFrom(a, m.o.ChildPort)
	}
	if int(idx) >= len(m.childSrv) {
		m.childSrv = append(m.childSrv, make([][]netip.AddrPort, int(idx)+1-len(m.childSrv))...)
	}
	m.childSrv[idx] = servers
	return servers
}

func (cc *childCheck) fast(raw []byte) (ok bool) {
	cc.val, cc.ttl, ok = fastChild(cc.d.name, cc.k, raw)
	return ok
}

func (cc *childCheck) parse(r *dns.Msg) (err error) {
	cc.val, cc.ttl, err = parseChild(cc.d.name, cc.k, r)
	return err
}

func (cc *childCheck) done(srv netip.AddrPort, err error) {
	if err != nil {
		if cc.ctx.Err() == nil {
			cc.st.fail(cc.d, cc.k, err)
		}
	} else {
		cc.m.compare(cc.st, cc.d, cc.k, cc.m.vals.id(cc.val), srv, cc.ttl)
	}
	cc.end()
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
