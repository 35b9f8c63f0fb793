package dnswatch

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/vigie/vigie/internal/doctor"
	"github.com/vigie/vigie/internal/rdap"
)

// doctorZones is how many parent zones vigie doctor asks (those holding
// the most domains), one sample domain each.
const doctorZones = 3

// rdapBootstrapOld: a bootstrap file older than this may lack TLDs that
// moved to RDAP since (IANA updates it every few weeks).
const rdapBootstrapOld = 180 * 24 * time.Hour

// Doctor says what the DNS watch would sweep, with the watch's own
// inventory reader and client: how many domains and parent zones the
// inventory holds (bad lines counted), whether the resolver answers,
// whether the parent (TLD) servers of the largest zones, from dns.parents
// or found through the resolver, answer for a sample domain's delegation,
// and, with RDAP on, which bootstrap file is in use, its age and the
// domains whose TLD it has no server for.
func Doctor(ctx context.Context, env doctor.Env) []doctor.Check {
	c := env.Config.DNS
	const w = string(Name)
	if !c.Enabled() {
		return []doctor.Check{{Watch: w, Item: "inventory", Status: doctor.Off, Found: "no domain configured",
			Fix: "list the domains to watch in dns.domains, or one per line in dns.domains_file (a registrar's export)"}}
	}
	var out []doctor.Check
	if c.DomainsFile != "" {
		if err := env.Account.CanRead(c.DomainsFile); err != nil {
			return append(out, doctor.Check{Watch: w, Item: "inventory", Status: doctor.Fail, Found: err.Error(),
				Fix: fmt.Sprintf("let the %s user read dns.domains_file (chgrp vigie FILE; chmod g+r FILE)", env.Account.Name)})
		}
	}
	resolver := c.Resolver
	if resolver == "" {
		resolver = SystemResolver()
	}
	m, err := New(Options{Parents: c.Parents, Resolver: resolver, ChildPort: uint16(c.ChildPort), Timeout: c.Timeout,
		Retries: c.Retries, Backoff: c.Backoff, Sockets: 1, InFlight: 64})
	if err != nil {
		return append(out, doctor.Check{Watch: w, Item: "inventory", Status: doctor.Fail, Found: err.Error(), Fix: "fix the dns section (vigie config check)"})
	}
	defer m.Close()
	inv := Inventory{Lines: c.Domains, File: c.DomainsFile}
	st, err := m.SetInventory(inv.Scan)
	switch {
	case err != nil:
		return append(out, doctor.Check{Watch: w, Item: "inventory", Status: doctor.Fail, Found: err.Error(),
			Fix: "fix dns.domains_file (one domain per line, # comments)"})
	case m.Domains() == 0:
		found := fmt.Sprintf("%d line(s), no valid domain", st.Lines)
		if len(st.FirstErrors) > 0 {
			found += ": " + st.FirstErrors[0].Error()
		}
		return append(out, doctor.Check{Watch: w, Item: "inventory", Status: doctor.Fail, Found: found,
			Fix: "one domain per line, such as example.org (or example.org ns1.host.example,ns2.host.example)"})
	}
	zones := m.zoneSizes()
	ch := doctor.Check{Watch: w, Item: "inventory", Status: doctor.OK,
		Found: fmt.Sprintf("%d domain(s) under %d parent zone(s) (%s)", m.Domains(), len(zones), zoneList(zones, 5))}
	if inv.File != "" {
		ch.Found += " from " + inv.File
		if len(c.Domains) > 0 {
			ch.Found += " and dns.domains"
		}
	}
	if st.Bad > 0 {
		ch.Status = doctor.Warn
		var first []string
		for i, e := range st.FirstErrors {
			if i == 3 {
				break
			}
			first = append(first, e.Error())
		}
		ch.Found += fmt.Sprintf("; %d bad line(s) skipped: %s", st.Bad, strings.Join(first, "; "))
		ch.Fix = "correct or remove the bad lines"
	}
	out = append(out, ch)

	// The resolver: needed for the parent zones dns.parents does not
	// list, and for name servers without glue.
	needed := false
	for _, z := range zones {
		if _, ok := c.Parents[z.name]; !ok {
			needed = true
		}
	}
	out = append(out, m.doctorResolver(ctx, c.Resolver, zones, needed))

	// The parent servers of the largest zones, asked for one domain each.
	sample := zones
	if len(sample) > doctorZones {
		sample = sample[:doctorZones]
	}
	results := make([]doctor.Check, len(sample))
	var wg sync.WaitGroup
	for i, z := range sample {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = m.doctorParent(ctx, z, c.Parents)
		}()
	}
	wg.Wait()
	out = append(out, results...)
	if len(zones) > len(sample) {
		out = append(out, doctor.Check{Watch: w, Item: "parent servers (others)", Status: doctor.OK,
			Found: fmt.Sprintf("%d more zone(s) not asked here (vigie doctor asks the %d holding the most domains)", len(zones)-len(sample), len(sample))})
	}
	out = append(out, doctorRDAP(env, m, zones))
	return out
}

// zoneSize is one parent zone of the inventory.
type zoneSize struct {
	name    string
	domains int
	sample  string // its first domain
}

// zoneSizes lists the inventory's parent zones, most domains first.
func (m *Monitor) zoneSizes() []zoneSize {
	zs := make([]zoneSize, len(m.zones))
	for i := range m.domains {
		d := &m.domains[i]
		z := &zs[d.zone]
		if z.domains == 0 {
			z.name, z.sample = m.zones[d.zone].name, d.name
		}
		z.domains++
	}
	sort.SliceStable(zs, func(i, j int) bool {
		if zs[i].domains != zs[j].domains {
			return zs[i].domains > zs[j].domains
		}
		return zs[i].name < zs[j].name
	})
	return zs
}

func zoneList(zs []zoneSize, n int) string {
	var parts []string
	for i, z := range zs {
		if i == n {
			parts = append(parts, fmt.Sprintf("%d more", len(zs)-n))
			break
		}
		parts = append(parts, fmt.Sprintf("%s %d", z.name, z.domains))
	}
	return strings.Join(parts, ", ")
}

// doctorResolver asks the resolver for the NS of the largest zone (the
// question the watch asks it to find parent servers).
func (m *Monitor) doctorResolver(ctx context.Context, configured string, zones []zoneSize, needed bool) doctor.Check {
	const w = string(Name)
	ch := doctor.Check{Watch: w, Item: "resolver"}
	bad := doctor.Warn
	why := "it finds the addresses of name servers without glue"
	if needed {
		bad = doctor.Fail
		why = "it finds the servers of the parent zones dns.parents does not list"
	}
	if m.resolver == nil {
		ch.Status, ch.Found = bad, "none: dns.resolver is empty and /etc/resolv.conf names no nameserver ("+why+")"
		ch.Fix = "set dns.resolver to a resolver of your own (unbound on this machine: 127.0.0.1:53)"
		return ch
	}
	src := "dns.resolver"
	if configured == "" {
		src = "the system's, from /etc/resolv.conf"
	}
	zone := zones[0].name
	began := time.Now()
	names, err := m.resolveNames(ctx, zone, dns.TypeNS)
	took := time.Since(began).Round(time.Millisecond)
	switch {
	case err != nil:
		ch.Status, ch.Found = bad, fmt.Sprintf("%s (%s) does not answer for %s NS: %v (%s)", m.resolver, src, zone, err, why)
		ch.Fix = "check that it runs and lets this machine ask (allow-query), or set dns.resolver; or list the parent servers in dns.parents"
	case len(names) == 0:
		ch.Status, ch.Found = bad, fmt.Sprintf("%s (%s) answers no NS for %s (%s)", m.resolver, src, zone, why)
		ch.Fix = "set dns.resolver to a recursive resolver, or list the parent servers in dns.parents"
	default:
		ch.Status, ch.Found = doctor.OK, fmt.Sprintf("%s (%s) answers: %s is served by %s (%s)", m.resolver, src, zone, firstOf(names, 3), took)
	}
	return ch
}

func firstOf(xs []string, n int) string {
	if len(xs) <= n {
		return strings.Join(xs, ", ")
	}
	return strings.Join(xs[:n], ", ") + fmt.Sprintf(" and %d more", len(xs)-n)
}

// doctorParent finds the servers of one zone as the watch does, and asks
// each of them for the sample domain's delegation.
func (m *Monitor) doctorParent(ctx context.Context, z zoneSize, parents map[string][]string) doctor.Check {
	const w = string(Name)
	ch := doctor.Check{Watch: w, Item: "parent servers " + z.name}
	var servers []netip.AddrPort
	src := "dns.parents"
	if list, ok := parents[z.name]; ok {
		for _, s := range list {
			ap, _ := ParseServer(s) // checked by New
			servers = append(servers, ap)
		}
	} else {
		src = "found through the resolver"
		var err error
		servers, err = m.discoverParents(ctx, z.name)
		if err != nil {
			ch.Status, ch.Found = doctor.Fail, fmt.Sprintf("%s (%d domain(s)) cannot be swept: %v", z.name, z.domains, err)
			ch.Fix = fmt.Sprintf("fix the resolver (dns.resolver), or list the servers of %s in dns.parents", z.name)
			return ch
		}
	}
	type answer struct {
		srv netip.AddrPort
		ref referral
		err error
		rtt time.Duration
	}
	answers := make([]answer, len(servers))
	var wg sync.WaitGroup
	for i, srv := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			began := time.Now()
			var ref referral
			_, err := m.ask.ask(ctx, []netip.AddrPort{srv}, z.sample, dns.TypeNS, true, func(r *dns.Msg) (err error) {
				ref, err = parseReferral(z.sample, r)
				return err
			})
			answers[i] = answer{srv, ref, err, time.Since(began)}
		}()
	}
	wg.Wait()
	var ok, undelegated, silent []string
	var ns []string
	var slowest time.Duration
	for _, a := range answers {
		c := errNone
		if a.err != nil {
			c = classOf(a.err)
		}
		switch c {
		case errNone:
			ok = append(ok, a.srv.String())
			ns = a.ref.ns
			slowest = max(slowest, a.rtt)
		case errNXDomain, errNotDelegated:
			undelegated = append(undelegated, a.srv.String())
		default:
			silent = append(silent, fmt.Sprintf("%s (%s)", a.srv, c))
		}
	}
	answered := len(ok) + len(undelegated)
	ch.Found = fmt.Sprintf("%d of %d server(s) (%s) answer for %s", answered, len(servers), src, z.sample)
	if len(ns) > 0 {
		ch.Found += fmt.Sprintf(": NS %s (%s)", firstOf(ns, 3), slowest.Round(time.Millisecond))
	}
	switch {
	case answered == 0:
		ch.Status = doctor.Fail
		ch.Found += "; none answers: " + firstOf(silent, 3)
		ch.Fix = fmt.Sprintf("check that this machine reaches them on port 53 (UDP and TCP), or correct dns.parents for %s", z.name)
	case len(silent) > 0:
		ch.Status = doctor.Warn
		ch.Found += "; no answer from " + firstOf(silent, 3)
		ch.Fix = "the watch asks the others; check the firewall (UDP and TCP 53) and IPv6 routing towards them"
	default:
		ch.Status = doctor.OK
	}
	if len(undelegated) > 0 && ch.Status == doctor.OK {
		ch.Status = doctor.Warn
		ch.Found += fmt.Sprintf("; %s says %s is not delegated", firstOf(undelegated, 2), z.sample)
		ch.Fix = fmt.Sprintf("is %s registered? remove it from the inventory if not", z.sample)
	}
	return ch
}

// doctorRDAP says which RDAP bootstrap file the watch would use, its age,
// and how many domains it has no server for.
func doctorRDAP(env doctor.Env, m *Monitor, zones []zoneSize) doctor.Check {
	const w = string(Name)
	c := env.Config.DNS.RDAP
	ch := doctor.Check{Watch: w, Item: "rdap"}
	if !c.Enabled {
		ch.Status, ch.Found = doctor.Off, "dns.rdap.enabled: false: registry status and expiry are not read"
		ch.Fix = "set dns.rdap.enabled: true to be told of a registry lock lifted, a transfer or an expiry"
		return ch
	}
	bs, err := rdap.Load(env.DataDir)
	src := "the one built into vigie"
	if _, serr := os.Stat(rdap.BootstrapPath(env.DataDir)); env.DataDir != "" && serr == nil && err == nil &&
		!bs.Publication.Before(rdap.Embedded().Publication) {
		src = rdap.BootstrapPath(env.DataDir)
	}
	age := time.Since(bs.Publication)
	ch.Status = doctor.OK
	ch.Found = fmt.Sprintf("bootstrap: %s, published %s (%d days ago), %d TLDs", src, bs.Publication.UTC().Format("2006-01-02"), int(age.Hours()/24), bs.Entries())
	if err != nil {
		ch.Status, ch.Found = doctor.Warn, err.Error()+"; "+ch.Found
		ch.Fix = "vigie dns update-rdap-bootstrap https://data.iana.org/rdap/dns.json"
	}
	var without []string
	missing := 0
	for _, z := range zones {
		if len(bs.Servers(z.sample)) == 0 {
			missing += z.domains
			without = append(without, z.name)
		}
	}
	if missing > 0 {
		ch.Found += fmt.Sprintf("; no RDAP server for %d domain(s) (under %s)", missing, firstOf(without, 3))
	}
	if age > rdapBootstrapOld {
		ch.Status = doctor.Warn
		ch.Found += "; older than 180 days: TLDs that moved to RDAP since are missing"
		ch.Fix = "vigie dns update-rdap-bootstrap https://data.iana.org/rdap/dns.json (as the vigie user, with --data /var/lib/vigie)"
	} else if missing > 0 && ch.Status == doctor.OK {
		ch.Status = doctor.Warn
		ch.Fix = "those registries publish no RDAP server in IANA's bootstrap: their status and expiry are not watched; a newer bootstrap may list them (vigie dns update-rdap-bootstrap)"
	}
	return ch
}
