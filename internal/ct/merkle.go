package ct

import (
	"errors"
	"fmt"
	"math/bits"

	"golang.org/x/mod/sumdb/tlog"
)

// A frontier is the compact range of a tree prefix [0, size): the hashes
// of its perfect subtrees, largest (leftmost) first. It is all that must
// be kept to extend the tree leaf by leaf and compute its root.
type frontier struct {
	Size   int64       `json:"size"`
	Hashes []tlog.Hash `json:"hashes"`
}

func (f *frontier) clone() frontier {
	return frontier{Size: f.Size, Hashes: append([]tlog.Hash(nil), f.Hashes...)}
}

// append adds one leaf hash.
func (f *frontier) append(leaf tlog.Hash) {
	f.Hashes = append(f.Hashes, leaf)
	// Merge while the new size's low bits say two equal subtrees sit
	// side by side.
	for s := f.Size; s&1 == 1; s >>= 1 {
		n := len(f.Hashes)
		f.Hashes[n-2] = tlog.NodeHash(f.Hashes[n-2], f.Hashes[n-1])
		f.Hashes = f.Hashes[:n-1]
	}
	f.Size++
}

// root is the Merkle tree hash of the prefix.
func (f *frontier) root() tlog.Hash {
	if len(f.Hashes) == 0 {
		return emptyRoot
	}
	h := f.Hashes[len(f.Hashes)-1]
	for i := len(f.Hashes) - 2; i >= 0; i-- {
		h = tlog.NodeHash(f.Hashes[i], h)
	}
	return h
}

// emptyRoot is the hash of the empty tree, SHA-256 of nothing.
var emptyRoot = tlog.Hash{0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
	0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55}

var errInconsistent = errors.New("log is inconsistent")

// checkConsistency verifies an RFC 6962 consistency proof between the tree
// of size m and the signed tree of size n (RFC 9162 section 2.1.4.2). When
// oldRoot is nil the old root is not known: the proof is checked against
// the new root only and the old tree's frontier, which the proof carries
// whenever m is not a power of two, is returned.
func checkConsistency(proof []tlog.Hash, m, n int64, oldRoot *tlog.Hash, newRoot tlog.Hash) (frontier, error) {
	if m <= 0 || m > n {
		return frontier{}, fmt.Errorf("%w: consistency between sizes %d and %d", errInconsistent, m, n)
	}
	if m == n {
		if len(proof) != 0 || (oldRoot != nil && *oldRoot != newRoot) {
			return frontier{}, fmt.Errorf("%w: same size, different root", errInconsistent)
		}
		return frontier{}, nil
	}
	pow2 := m&(m-1) == 0
	if pow2 {
		if oldRoot == nil {
			return frontier{}, errors.New("the frontier of a power-of-two tree is not in its consistency proof")
		}
		proof = append([]tlog.Hash{*oldRoot}, proof...)
	}
	if len(proof) == 0 {
		return frontier{}, fmt.Errorf("%w: empty consistency proof", errInconsistent)
	}
	fn, sn := uint64(m-1), uint64(n-1)
	for fn&1 == 1 {
		fn >>= 1
		sn >>= 1
	}
	fr, sr := proof[0], proof[0]
	left := []tlog.Hash{proof[0]} // the old tree's subtrees, rightmost first
	for _, c := range proof[1:] {
		if sn == 0 {
			return frontier{}, fmt.Errorf("%w: consistency proof too long", errInconsistent)
		}
		if fn&1 == 1 || fn == sn {
			fr = tlog.NodeHash(c, fr)
			sr = tlog.NodeHash(c, sr)
			left = append(left, c)
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			sr = tlog.NodeHash(sr, c)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 || sr != newRoot || (oldRoot != nil && fr != *oldRoot) {
		return frontier{}, fmt.Errorf("%w: consistency proof from %d to %d does not verify", errInconsistent, m, n)
	}
	f := frontier{Size: m}
	if !pow2 && len(left) == bits.OnesCount64(uint64(m)) {
		for i := len(left) - 1; i >= 0; i-- {
			f.Hashes = append(f.Hashes, left[i])
		}
	}
	return f, nil
}
