package dnswatch

import (
	"context"
	"net/netip"
	"sort"
	"strings"
	"sync"

	"github.com/miekg/dns"
)

// checkSerials asks every server of every parent zone for the zone's SOA
// serial. Servers that differ are reported (a registry change is still
// propagating, or a server is stale), and their serials go into the
// evidence of any disagreement about a domain of the zone.
func (m *Monitor) checkSerials(ctx context.Context) []SerialSplit {
	var out []SerialSplit
	for i := range m.zones {
		z := &m.zones[i]
		z.serials = map[string]uint32{}
		if len(z.servers) < 2 {
			continue
		}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, srv := range z.servers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m.client.brk.safe("dns serial check", func() { m.askSerial(ctx, z, srv, &mu) })
			}()
		}
		wg.Wait()
		distinct := map[uint32]bool{}
		for _, s := range z.serials {
			distinct[s] = true
		}
		if len(distinct) > 1 {
			out = append(out, SerialSplit{Zone: z.name, Serials: z.serials})
		}
	}
	return out
}

// askSerial asks srv for zone z's SOA serial and notes it in z.serials.
func (m *Monitor) askSerial(ctx context.Context, z *zone, srv netip.AddrPort, mu *sync.Mutex) {
	var serial uint32
	_, err := m.ask.ask(ctx, []netip.AddrPort{srv}, z.name, dns.TypeSOA, false, func(r *dns.Msg) error {
		if err := checkQuestion(r, z.name, dns.TypeSOA); err != nil {
			return err
		}
		if err := rcodeError(r, "parent SOA"); err != nil {
			return err
		}
		for _, rr := range r.Answer {
			if soa, ok := rr.(*dns.SOA); ok && strings.EqualFold(soa.Hdr.Name, z.name) {
				serial = soa.Serial
				return nil
			}
		}
		return qerr(errLame, "%s has no SOA for %s", srv, z.name)
	})
	if err == nil {
		mu.Lock()
		z.serials[srv.String()] = serial
		mu.Unlock()
	}
}

// verifyParentDrifts asks each server of the zone again, one by one, for
// every domain whose delegation drifted. A drift stands only if every
// server that answers serves the same new value; if they differ, the
// domain is reported as a disagreement instead and no side is taken.
func (m *Monitor) verifyParentDrifts(ctx context.Context, st *sweepState) []Disagreement {
	byDomain := map[string][]int{}
	var names []string
	for i, dr := range st.drifts {
		if !dr.Kind.Parent() {
			continue
		}
		if _, ok := byDomain[dr.Domain]; !ok {
			names = append(names, dr.Domain)
		}
		byDomain[dr.Domain] = append(byDomain[dr.Domain], i)
	}
	if len(names) == 0 {
		return nil
	}
	sort.Strings(names)
	disagree := make([]*Disagreement, len(names))
	m.parallel(ctx, len(names), func(i int) {
		di := m.find(names[i])
		d := &m.domains[di]
		z := &m.zones[d.zone]
		answers := map[string][numKinds]string{}
		for _, srv := range z.servers {
			vals, err := m.referralFrom(ctx, srv, d.name)
			if err != nil {
				continue // a server that fails says nothing either way
			}
			answers[srv.String()] = vals
		}
		for _, idx := range byDomain[d.name] {
			k := st.drifts[idx].Kind
			seen := map[string]bool{}
			for _, v := range answers {
				seen[v[k]] = true
			}
			if len(seen) <= 1 {
				continue
			}
			dis := &Disagreement{Domain: d.name, Zone: z.name, Kind: k, Answers: map[string]string{}, Serials: z.serials}
			for srv, v := range answers {
				dis.Answers[srv] = v[k]
			}
			disagree[i] = dis
			break
		}
	})
	var out []Disagreement
	drop := map[string]bool{}
	for _, d := range disagree {
		if d == nil {
			continue
		}
		out = append(out, *d)
		drop[d.Domain] = true
		dom := &m.domains[m.find(d.Domain)]
		for _, k := range []Kind{KindNS, KindDS, KindGlue} {
			dom.obs[k], dom.errs[k] = 0, errDisagree
		}
	}
	if len(drop) > 0 {
		kept := st.drifts[:0]
		for _, dr := range st.drifts {
			if !(dr.Kind.Parent() && drop[dr.Domain]) {
				kept = append(kept, dr)
			}
		}
		st.drifts = kept
		st.mu.Lock()
		st.errs[errDisagree] += len(drop)
		st.mu.Unlock()
	}
	return out
}

// referralFrom reads one server's view of a delegation as canonical
// values per parent kind.
func (m *Monitor) referralFrom(ctx context.Context, srv netip.AddrPort, name string) ([numKinds]string, error) {
	var out [numKinds]string
	var ref referral
	one := []netip.AddrPort{srv}
	if _, err := m.ask.ask(ctx, one, name, dns.TypeNS, true, func(r *dns.Msg) (err error) {
		ref, err = parseReferral(name, r)
		return err
	}); err != nil {
		return out, err
	}
	out[KindNS], out[KindGlue], out[KindDS] = joinValues(ref.ns), joinValues(ref.glue), joinValues(ref.ds)
	if !ref.dsKnown {
		var ds []string
		if _, err := m.ask.ask(ctx, one, name, dns.TypeDS, true, func(r *dns.Msg) (err error) {
			ds, _, err = parseDS(name, r)
			return err
		}); err != nil {
			return out, err
		}
		out[KindDS] = joinValues(ds)
	}
	return out, nil
}
