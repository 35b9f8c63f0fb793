package ct

import (
	"testing"
)

func FuzzParseLeafInput(f *testing.F) {
	ca := newTestCA(f, "Fuzz CA")
	f.Add(x509Leaf(ca.issue(f, "a.example.com", []string{"b.example.com", "c.net"}, 3, false, true)), []byte{0, 0, 0})
	pre := ca.issue(f, "a.example.com", []string{"b.example.com"}, 4, true, false)
	tbs, _ := PrecertTBS(pre)
	f.Add(precertLeaf(tbs, [32]byte{1}), append([]byte{0, 0, 3}, 1, 2, 3))
	f.Add([]byte{}, []byte{})
	wl := BuildWatchlist([]WatchEntry{{Domain: "example.com", Apex: true, Subdomains: true}, {Domain: "net", Subdomains: true}})
	f.Fuzz(func(t *testing.T, leaf, extra []byte) {
		e, err := ParseLeafInput(leaf, extra)
		if err != nil {
			return
		}
		cm, ok, _, _ := matchEntry(wl, &e, nil)
		if ok && len(cm.Matches) == 0 {
			t.Fatal("match without matches")
		}
	})
}

func FuzzParseTileLeaf(f *testing.F) {
	ca := newTestCA(f, "Fuzz CA")
	der := ca.issue(f, "a.example.com", []string{"b.example.com"}, 3, false, false)
	leaf := x509Leaf(der)[2:]                                       // timestamp, type, cert, (empty) extensions
	leaf = append(leaf[:len(leaf)-2], 0, 8, 0, 0, 5, 0, 0, 0, 0, 1) // leaf_index extension
	f.Add(append(leaf, 0, 0))
	f.Add([]byte{})
	wl := BuildWatchlist([]WatchEntry{{Domain: "example.com", Apex: true, Subdomains: true}})
	f.Fuzz(func(t *testing.T, tile []byte) {
		for len(tile) > 0 {
			e, rest, err := ParseTileLeaf(tile)
			if err != nil {
				return
			}
			if len(rest) >= len(tile) {
				t.Fatal("no progress")
			}
			tile = rest
			matchEntry(wl, &e, nil)
		}
	})
}

func FuzzWatchlist(f *testing.F) {
	f.Add("example.com", "www.example.com")
	f.Add("*.bücher.example", "*.XN--BCHER-KVA.example.")
	f.Fuzz(func(t *testing.T, domain, name string) {
		e, err := ParseWatchEntry(domain)
		if err != nil {
			return
		}
		wl := BuildWatchlist([]WatchEntry{e})
		if m, ok := wl.Match(name); ok && m.Domain != e.Domain {
			t.Fatalf("matched %q for %q", m.Domain, e.Domain)
		}
		if e.Apex {
			if _, ok := wl.Match(e.Domain); !ok {
				t.Fatalf("%q does not match itself", e.Domain)
			}
		}
	})
}
