package dnswatch

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/vigie/vigie/internal/store"
)

// Options configure a Monitor.
type Options struct {
	// Parents sets the servers of parent zones ("example." ->
	// ["192.0.2.1:53"]); other zones are found through Resolver.
	Parents map[string][]string
	// Resolver (host:port) finds the servers of parent zones not in
	// Parents, and the addresses of name servers without glue. Empty: none.
	Resolver string
	// ChildPort is the port the domains' own servers are asked on (53;
	// tests change it).
	ChildPort uint16
	Timeout   time.Duration // one query
	Retries   int           // extra attempts per query
	Backoff   time.Duration // first pause before going round the servers again
	// RateLimit is the most queries per second sent to one server; 0: no
	// limit.
	RateLimit float64
	Sockets   int // UDP sockets of the pipelined client
	InFlight  int // queries in flight at once, all servers together
	// BaselinePath is the baseline file; empty keeps the baseline in memory.
	BaselinePath string
	// Shards cuts the inventory into this many shards by a hash of the
	// name (ShardOf), so that nodes can split the sweep (SetShards);
	// 0 or 1: one shard.
	Shards int
	// BaselineState, when set, holds the baseline instead of the file, one
	// record per shard: with several nodes on one PostgreSQL store, the
	// node that takes a shard over finds what the previous one expected
	// instead of learning again what it sees now.
	BaselineState store.State
	// SecWarn: a DNSSEC signature expiring sooner than this is a finding
	// (DefaultSecWarn when 0). NoDNSSEC turns the DNSSEC check off.
	SecWarn  time.Duration
	NoDNSSEC bool
	Logger   *slog.Logger
	Now      func() time.Time
}

func (o *Options) defaults() {
	if o.ChildPort == 0 {
		o.ChildPort = 53
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
	if o.Backoff <= 0 {
		o.Backoff = 200 * time.Millisecond
	}
	if o.Sockets <= 0 {
		o.Sockets = 4
	}
	if o.InFlight <= 0 {
		o.InFlight = 2000
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.SecWarn <= 0 {
		o.SecWarn = DefaultSecWarn
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// domain is one watched domain: nine value IDs for what is expected and
// nine for what the current sweep saw, so millions fit in memory.
type domain struct {
	name     string
	zone     uint32  // index in Monitor.zones
	expectNS valueID // from the inventory; 0: use the baseline
	base     [numKinds]valueID
	obs      [numKinds]valueID
	errs     [numKinds]errClass
	shard    uint16 // ShardOf(name, Monitor.nShards), at most 65535; fits the padding before addrs
	addrs    uint32 // index in Monitor.addrSets: where to ask child-side
}

type zone struct {
	name    string
	servers []netip.AddrPort
	err     error             // the servers could not be found
	serials map[string]uint32 // server -> SOA serial, this sweep
}

// Monitor holds the inventory, the baseline and the last observations,
// and runs sweeps. One sweep at a time.
type Monitor struct {
	o        Options
	log      *slog.Logger
	client   *client
	ask      *asker
	resolver *netip.AddrPort
	stats    clientStats

	vals     *interner
	domains  []domain // sorted by name
	zones    []zone
	zoneIdx  map[string]uint32
	addrMu   sync.Mutex
	addrSets [][]netip.Addr // [0] is the empty set
	addrIdx  map[string]uint32
	// glueAddrs maps a glue value to its address set, so that the
	// millions of domains sharing a hoster's NS build it once.
	glueAddrs map[valueID]uint32

	// childSrv[i] is addrSets[i] with the child port (addrMu), built
	// when first asked.
	childSrv [][]netip.AddrPort

	nsCacheMu sync.Mutex
	nsCache   map[string][]netip.Addr

	baseline baselineFile
	// shared keeps the baseline in the store, per shard, instead of the
	// file: nodes that split the sweep must expect the same values.
	shared *sharedBaseline

	// sec is the DNSSEC status of the domains with a DS, as of the last
	// full sweep (index in domains -> status).
	sec map[int32]SecStatus

	nShards int          // Options.Shards, at least 1
	held    map[int]bool // the shards swept; nil: all
	active  []int32      // indexes of the domains of the held shards
}

// New returns a monitor with an empty inventory; add domains with
// SetInventory. Close releases its sockets.
func New(o Options) (*Monitor, error) {
	o.defaults()
	m := &Monitor{o: o, log: o.Logger, vals: newInterner(), zoneIdx: map[string]uint32{},
		addrSets: [][]netip.Addr{nil}, addrIdx: map[string]uint32{"": 0}, glueAddrs: map[valueID]uint32{},
		nsCache: map[string][]netip.Addr{}}
	m.baseline.path = o.BaselinePath
	m.nShards = max(o.Shards, 1)
	if o.BaselineState != nil {
		m.shared = &sharedBaseline{st: o.BaselineState}
		m.baseline.path = ""
	}
	if o.Resolver != "" {
		r, err := ParseServer(o.Resolver)
		if err != nil {
			return nil, fmt.Errorf("resolver: %w", err)
		}
		m.resolver = &r
	}
	for z, servers := range o.Parents {
		if _, err := CanonicalName(z); err != nil && z != "." {
			return nil, fmt.Errorf("parents: %w", err)
		}
		for _, s := range servers {
			if _, err := ParseServer(s); err != nil {
				return nil, fmt.Errorf("parents %s: %w", z, err)
			}
		}
	}
	c, err := newClient(o.Sockets, o.Timeout, &m.stats)
	if err != nil {
		return nil, fmt.Errorf("dns client: %w", err)
	}
	m.client = c
	m.ask = &asker{c: c, lim: newLimiter(o.RateLimit), win: newWindows(o.InFlight), retries: o.Retries, backoff: o.Backoff}
	return m, nil
}

// Close closes the client's sockets.
func (m *Monitor) Close() { m.client.Close() }

// SetInventory replaces the watched domains with those read by scan
// (ScanInventory or LoadInventoryFile bound to a source). The baseline
// of domains that stay is kept.
func (m *Monitor) SetInventory(scan func(fn func(Entry) error) (InventoryStats, error)) (InventoryStats, error) {
	old := m.domains
	var ds []domain
	st, err := scan(func(e Entry) error {
		d := domain{name: e.Name}
		if e.NS != nil {
			d.expectNS = m.vals.id(joinValues(e.NS))
		}
		ds = append(ds, d)
		return nil
	})
	if err != nil {
		return st, err
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].name < ds[j].name })
	// Duplicate lines: the last one's expected NS wins.
	out := ds[:0]
	for i := range ds {
		if len(out) > 0 && out[len(out)-1].name == ds[i].name {
			if ds[i].expectNS != 0 {
				out[len(out)-1].expectNS = ds[i].expectNS
			}
			continue
		}
		out = append(out, ds[i])
	}
	ds = out[:len(out):len(out)]
	j := 0
	for i := range ds {
		for j < len(old) && old[j].name < ds[i].name {
			j++
		}
		if j < len(old) && old[j].name == ds[i].name {
			ds[i].base = old[j].base
		}
		z := parentZone(ds[i].name)
		zi, ok := m.zoneIdx[z]
		if !ok {
			zi = uint32(len(m.zones))
			m.zones = append(m.zones, zone{name: z})
			m.zoneIdx[z] = zi
		}
		ds[i].zone = zi
		ds[i].shard = uint16(ShardOf(ds[i].name, m.nShards))
	}
	m.domains = ds
	m.sec = nil // indexes changed: the next full sweep checks again
	m.planActive()
	return st, nil
}

// Domains returns how many domains are watched.
func (m *Monitor) Domains() int { return len(m.domains) }

func (m *Monitor) find(name string) int {
	i := sort.Search(len(m.domains), func(i int) bool { return m.domains[i].name >= name })
	if i < len(m.domains) && m.domains[i].name == name {
		return i
	}
	return -1
}

// expected is what kind k of domain d should be, 0 when not known yet.
func (m *Monitor) expected(d *domain, k Kind) valueID {
	if k == KindNS && d.expectNS != 0 {
		return d.expectNS
	}
	return d.base[k]
}

func (m *Monitor) addrSet(addrs []netip.Addr) uint32 {
	if len(addrs) == 0 {
		return 0
	}
	sort.Slice(addrs, func(i, j int) bool { return addrs[i].Less(addrs[j]) })
	var b strings.Builder
	for _, a := range addrs {
		b.WriteString(a.String())
		b.WriteByte(' ')
	}
	key := b.String()
	m.addrMu.Lock()
	defer m.addrMu.Unlock()
	if i, ok := m.addrIdx[key]; ok {
		return i
	}
	i := uint32(len(m.addrSets))
	m.addrSets = append(m.addrSets, addrs)
	m.addrIdx[key] = i
	return i
}

// prepareZones finds the servers of every parent zone not known yet.
func (m *Monitor) prepareZones(ctx context.Context) {
	for i := range m.zones {
		z := &m.zones[i]
		if len(z.servers) > 0 {
			continue
		}
		if list, ok := m.o.Parents[z.name]; ok {
			z.servers = nil
			for _, s := range list {
				ap, _ := ParseServer(s) // checked in New
				z.servers = append(z.servers, ap)
			}
			z.err = nil
			continue
		}
		z.servers, z.err = m.discoverParents(ctx, z.name)
		if z.err != nil {
			m.log.Warn("parent zone servers not found", "zone", z.name, "err", z.err)
		}
	}
}

// zoneServers returns the servers of zone name (after a sweep prepared them).
func (m *Monitor) zoneServers(name string) []netip.AddrPort {
	if i, ok := m.zoneIdx[name]; ok {
		return m.zones[i].servers
	}
	return nil
}

var _ = dns.TypeNS

// RecordBaseline makes what the last sweep observed the expected state of
// every domain (`vigie dns baseline`), and saves it. Values the sweep
// could not read keep their old baseline.
func (m *Monitor) RecordBaseline() error {
	for _, i := range m.active {
		d := &m.domains[i]
		for k := range d.base {
			if d.obs[k] != 0 {
				d.base[k] = d.obs[k]
			}
		}
	}
	if m.shared != nil {
		return m.shared.save(context.Background(), m, m.heldShards(), true)
	}
	m.baseline.seen = fileStamp{} // this state wins over the file's
	return m.baseline.saveOver(m)
}

// NSFromInventory reports whether the inventory sets the expected NS of
// domain (then the baseline's NS is not used for it).
func (m *Monitor) NSFromInventory(domain string) bool {
	i := m.find(domain)
	return i >= 0 && m.domains[i].expectNS != 0
}
