package dnswatch

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/vigie/vigie/internal/store"
)

// With several nodes on one PostgreSQL store, the baseline is in the
// store's state table (watch "dns"), one record per shard, in the format
// of the baseline file. A node reads the records of the shards it sweeps
// before every sweep (an approval, or the previous holder's learning,
// lands there) and writes a shard's record again when it learned values
// in it. So the node that takes over a dead node's shards compares with
// what was expected before, and a hijack that happened meanwhile is
// reported, not learned as the new normal.
type sharedBaseline struct {
	st   store.State
	seen map[int][sha256.Size]byte // shard -> hash of the record last applied
}

func baselineKey(shard int) string { return "baseline/" + strconv.Itoa(shard) }

// heldShards lists the shards the monitor sweeps.
func (m *Monitor) heldShards() []int {
	var out []int
	for s := 0; s < m.nShards; s++ {
		if m.held == nil || m.held[s] {
			out = append(out, s)
		}
	}
	return out
}

// reloadBaseline reads the expected values changed elsewhere since the
// last read: the file (an approval) or the store's records.
func (m *Monitor) reloadBaseline(ctx context.Context) error {
	if m.shared == nil {
		return m.baseline.reloadIfChanged(m)
	}
	for _, sh := range m.heldShards() {
		if err := m.shared.loadShard(ctx, m, sh); err != nil {
			return err
		}
	}
	return nil
}

// loadShard applies the stored record of shard sh, if it changed since
// it was last applied.
func (b *sharedBaseline) loadShard(ctx context.Context, m *Monitor, sh int) error {
	blob, err := b.st.GetState(ctx, WatchName, baselineKey(sh))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("baseline shard %d: %w", sh, err)
	}
	sum := sha256.Sum256(blob)
	if b.seen == nil {
		b.seen = map[int][sha256.Size]byte{}
	}
	if old, ok := b.seen[sh]; ok && old == sum {
		return nil
	}
	vals := map[uint32]valueID{0: 0}
	err = readBaseline(bytes.NewReader(blob), "store "+baselineKey(sh), func(id uint32, v string) error {
		vals[id] = m.vals.id(v)
		return nil
	}, func(name string, ids [numKinds]uint32) error {
		i := m.find(name)
		if i < 0 || int(m.domains[i].shard) != sh {
			return nil // no longer in the inventory
		}
		for k, id := range ids {
			v, ok := vals[id]
			if !ok {
				return fmt.Errorf("value %d is not defined above", id)
			}
			m.domains[i].base[k] = v
		}
		return nil
	})
	if err != nil {
		return err
	}
	b.seen[sh] = sum
	return nil
}

// save writes the records of shards. Unless over, the stored values win
// (an approval landed since the last read) and the values learned in
// this sweep fill what is still unknown, as with the file.
func (b *sharedBaseline) save(ctx context.Context, m *Monitor, shards []int, over bool) error {
	for _, sh := range shards {
		if !over {
			if err := b.loadShard(ctx, m, sh); err != nil {
				return err
			}
			for _, i := range m.active {
				d := &m.domains[i]
				if int(d.shard) != sh {
					continue
				}
				for k := range d.base {
					if d.base[k] == 0 {
						d.base[k] = d.obs[k]
					}
				}
			}
		}
		blob := encodeShard(m, sh)
		if err := b.st.PutState(ctx, WatchName, baselineKey(sh), blob); err != nil {
			return fmt.Errorf("baseline shard %d: %w", sh, err)
		}
		if b.seen == nil {
			b.seen = map[int][sha256.Size]byte{}
		}
		b.seen[sh] = sha256.Sum256(blob)
	}
	return nil
}

// encodeShard writes the baseline of the domains of shard sh.
func encodeShard(m *Monitor, sh int) []byte {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	fmt.Fprintln(w, baselineHeader)
	used := map[valueID]bool{}
	for i := range m.domains {
		if int(m.domains[i].shard) != sh {
			continue
		}
		for _, id := range m.domains[i].base {
			if id != 0 && !used[id] {
				used[id] = true
				fmt.Fprintf(w, "v\t%d\t%s\n", id, strconv.Quote(m.vals.value(id)))
			}
		}
	}
	for i := range m.domains {
		d := &m.domains[i]
		if int(d.shard) != sh {
			continue
		}
		w.WriteString("d\t")
		w.WriteString(d.name)
		for _, id := range d.base {
			w.WriteByte('\t')
			w.WriteString(strconv.FormatUint(uint64(id), 10))
		}
		w.WriteByte('\n')
	}
	w.Flush()
	return buf.Bytes()
}

// SetSharedBaseline records values as the expected state in the store's
// baseline records (the inventory cut into shards), without loading the
// inventory: `vigie dns approve` with several nodes on PostgreSQL.
func SetSharedBaseline(ctx context.Context, st store.State, shards int, set map[string]map[Kind]string) error {
	byShard := map[int][]string{}
	for name := range set {
		sh := ShardOf(name, max(shards, 1))
		byShard[sh] = append(byShard[sh], name)
	}
	for sh, names := range byShard {
		// a value known to be empty ("" with an id) differs from one not
		// known yet (id 0)
		type cell struct {
			v     string
			known bool
		}
		vals := map[uint32]string{}
		doms := map[string][numKinds]cell{}
		var order []string
		blob, err := st.GetState(ctx, WatchName, baselineKey(sh))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("baseline shard %d: %w", sh, err)
		}
		err = readBaseline(bytes.NewReader(blob), "store "+baselineKey(sh), func(id uint32, v string) error {
			vals[id] = v
			return nil
		}, func(name string, ids [numKinds]uint32) error {
			var vs [numKinds]cell
			for k, id := range ids {
				v, ok := vals[id]
				if id != 0 && !ok {
					return fmt.Errorf("value %d is not defined above", id)
				}
				vs[k] = cell{v, id != 0}
			}
			if _, ok := doms[name]; !ok {
				order = append(order, name)
			}
			doms[name] = vs
			return nil
		})
		if err != nil {
			return err
		}
		sort.Strings(names)
		for _, name := range names {
			vs, ok := doms[name]
			if !ok {
				order = append(order, name)
			}
			for k, v := range set[name] {
				vs[k] = cell{v, true}
			}
			doms[name] = vs
		}
		// write it back with fresh value numbers
		ids := map[string]uint32{}
		var buf bytes.Buffer
		fmt.Fprintln(&buf, baselineHeader)
		for _, name := range order {
			for _, c := range doms[name] {
				if _, ok := ids[c.v]; !ok && c.known {
					ids[c.v] = uint32(len(ids) + 1)
					fmt.Fprintf(&buf, "v\t%d\t%s\n", ids[c.v], strconv.Quote(c.v))
				}
			}
		}
		for _, name := range order {
			buf.WriteString("d\t" + name)
			for _, c := range doms[name] {
				id := uint32(0)
				if c.known {
					id = ids[c.v]
				}
				buf.WriteString("\t" + strconv.FormatUint(uint64(id), 10))
			}
			buf.WriteByte('\n')
		}
		if err := st.PutState(ctx, WatchName, baselineKey(sh), buf.Bytes()); err != nil {
			return fmt.Errorf("baseline shard %d: %w", sh, err)
		}
	}
	return nil
}

// BaselineTarget is where the expected values are kept: the file at Path
// (one node), or, when State is set, the store's records of the
// inventory cut into Shards (nodes sharing PostgreSQL).
type BaselineTarget struct {
	Path   string
	State  store.State
	Shards int
}

// Set records values as the expected state.
func (b BaselineTarget) Set(ctx context.Context, set map[string]map[Kind]string) error {
	if b.State != nil {
		return SetSharedBaseline(ctx, b.State, b.Shards, set)
	}
	return SetBaseline(b.Path, set)
}

func (b BaselineTarget) String() string {
	if b.State != nil {
		return fmt.Sprintf("the store (%d shards)", max(b.Shards, 1))
	}
	return b.Path
}
