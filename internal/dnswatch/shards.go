package dnswatch

import "hash/fnv"

// ShardOf is the shard of domain (canonical name) when the inventory is
// cut into n shards: FNV-1a of the name modulo n, the same on every node
// whatever the order of its inventory.
func ShardOf(domain string, n int) int {
	if n <= 1 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(domain))
	return int(h.Sum32() % uint32(n))
}

// SetShards makes the monitor sweep only the domains of the listed
// shards (of Options.Shards); nil: every domain, as with one node. The
// inventory and the baseline of the other domains are kept, so that a
// shard given back and claimed again later needs no reload.
func (m *Monitor) SetShards(shards []int) {
	if shards == nil {
		m.held = nil
	} else {
		m.held = map[int]bool{}
		for _, s := range shards {
			m.held[s] = true
		}
	}
	m.planActive()
}

// Shards returns how many shards the inventory is cut into.
func (m *Monitor) Shards() int { return m.nShards }

// planActive lists the domains of the held shards.
func (m *Monitor) planActive() {
	m.active = m.active[:0]
	for i := range m.domains {
		if m.held == nil || m.held[int(m.domains[i].shard)] {
			m.active = append(m.active, int32(i))
		}
	}
}

// owns reports whether domain i is in a shard this monitor sweeps.
func (m *Monitor) owns(i int) bool {
	return m.held == nil || m.held[int(m.domains[i].shard)]
}

// Swept returns the domains the next sweep covers (the held shards'),
// in order.
func (m *Monitor) Swept() []string {
	out := make([]string, len(m.active))
	for j, i := range m.active {
		out[j] = m.domains[i].name
	}
	return out
}

// SweepSize returns how many domains the next sweep covers.
func (m *Monitor) SweepSize() int { return len(m.active) }
