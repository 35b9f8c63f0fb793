package dnswatch

import "sync"

// valueID names a canonical value in an interner. 0 means "not known"
// (never observed, or the query failed), so a zero array is "nothing
// known yet".
type valueID uint32

// interner stores each distinct canonical value once: at registrar scale
// millions of domains share a handful of NS sets, MX sets and SPF
// records, so a domain's state is nine small numbers, not nine strings.
type interner struct {
	mu   sync.RWMutex
	ids  map[string]valueID
	vals []string // vals[id-1]
}

func newInterner() *interner { return &interner{ids: map[string]valueID{}} }

func (in *interner) id(v string) valueID {
	in.mu.RLock()
	id, ok := in.ids[v]
	in.mu.RUnlock()
	if ok {
		return id
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if id, ok := in.ids[v]; ok {
		return id
	}
	in.vals = append(in.vals, v)
	id = valueID(len(in.vals))
	in.ids[v] = id
	return id
}

func (in *interner) value(id valueID) string {
	if id == 0 {
		return ""
	}
	in.mu.RLock()
	defer in.mu.RUnlock()
	return in.vals[id-1]
}
