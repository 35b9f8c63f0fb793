package ct

import (
	"crypto/sha256"
	"encoding/binary"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// memTree is a tlog tree in memory, the reference the frontier and the
// consistency checker are compared with.
type memTree struct{ hashes []tlog.Hash }

func (m *memTree) add(t *testing.T, n int64, data []byte) tlog.Hash {
	hs, err := tlog.StoredHashes(n, data, tlog.HashReaderFunc(m.read))
	if err != nil {
		t.Fatal(err)
	}
	m.hashes = append(m.hashes, hs...)
	return tlog.RecordHash(data)
}

func (m *memTree) read(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = m.hashes[x]
	}
	return out, nil
}

func TestFrontierAndConsistency(t *testing.T) {
	var mt memTree
	var f frontier
	var fronts []frontier
	var roots []tlog.Hash
	if f.root() != sha256.Sum256(nil) {
		t.Fatal("empty root")
	}
	const n = 300
	for i := int64(0); i < n; i++ {
		data := binary.BigEndian.AppendUint64(nil, uint64(i))
		fronts = append(fronts, f.clone())
		roots = append(roots, f.root())
		f.append(mt.add(t, i, data))
		want, err := tlog.TreeHash(i+1, tlog.HashReaderFunc(mt.read))
		if err != nil {
			t.Fatal(err)
		}
		if f.root() != want {
			t.Fatalf("size %d: root %x, tlog says %x", i+1, f.root(), want)
		}
	}
	fronts = append(fronts, f.clone())
	roots = append(roots, f.root())
	for _, sizes := range [][2]int64{{1, 2}, {3, 4}, {5, 8}, {6, 8}, {7, 300}, {100, 257}, {128, 300}, {255, 256}, {299, 300}, {200, 200}} {
		m, size := sizes[0], sizes[1]
		proof, err := tlog.ProveTree(size, m, tlog.HashReaderFunc(mt.read))
		if err != nil {
			t.Fatal(err)
		}
		old := roots[m]
		if _, err := checkConsistency(proof, m, size, &old, roots[size]); err != nil {
			t.Errorf("%d->%d: %v", m, size, err)
		}
		if m != size && m&(m-1) != 0 {
			got, err := checkConsistency(proof, m, size, nil, roots[size])
			if err != nil {
				t.Errorf("%d->%d without old root: %v", m, size, err)
			} else if got.root() != roots[m] || len(got.Hashes) != len(fronts[m].Hashes) {
				t.Errorf("%d->%d: frontier from the proof is wrong", m, size)
			}
		}
		bad := roots[m]
		bad[0] ^= 1
		if m != size {
			if _, err := checkConsistency(proof, m, size, &bad, roots[size]); err == nil {
				t.Errorf("%d->%d: wrong old root accepted", m, size)
			}
			if len(proof) > 0 {
				p := append([]tlog.Hash(nil), proof...)
				p[len(p)-1][3] ^= 1
				if _, err := checkConsistency(p, m, size, &old, roots[size]); err == nil {
					t.Errorf("%d->%d: tampered proof accepted", m, size)
				}
			}
		}
	}
}
