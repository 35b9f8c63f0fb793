package ct

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// A Watchlist is an immutable set of watched domains. Matching a name
// hashes its label suffixes from the right (com, example.com,
// www.example.com) and looks each up, so its cost depends on the name's
// length, never on how many domains are watched.
type Watchlist struct {
	// slots is an open-addressing hash table (linear probing, at most
	// three quarters full): each slot holds 32 bits of the domain's hash and its
	// rule number + 1; 0 is empty. 8 bytes a slot instead of a Go map's
	// ~30 per entry, and no pointers for the collector to scan.
	slots []uint64
	mask  uint64
	// parents maps the hash of a parent domain to one rule watching a
	// child of it by name, so that *.parent, which covers that child, is
	// caught. Domains share few parents, so it stays small.
	parents map[uint64]uint32
	arena   []byte // every domain, one after the other
	count   int    // distinct domains
	rules   []rule
	issuers [][]string // expected issuer sets, shared between rules
}

// rule is one watched domain, 8 bytes so that millions fit.
type rule struct {
	off   uint32
	n     uint8
	flags uint8
	iss   uint16 // index in issuers; 0 means none expected
}

const (
	flagApex       = 1 << iota // the domain itself
	flagSubdomains             // any name under it
)

// A WatchEntry is one line of a watchlist.
type WatchEntry struct {
	Domain     string // A-label, lower case
	Apex       bool
	Subdomains bool
	Issuers    []string // expected CAs (CAA domains or organization names)
}

// ParseWatchEntry reads "example.com" (the domain and its subdomains),
// "*.example.com" or ".example.com" (subdomains only) and "=example.com"
// (the domain only). Unicode domains are converted to their A-label.
func ParseWatchEntry(s string) (WatchEntry, error) {
	e := WatchEntry{Apex: true, Subdomains: true}
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, "*."):
		s, e.Apex = s[2:], false
	case strings.HasPrefix(s, "."):
		s, e.Apex = s[1:], false
	case strings.HasPrefix(s, "="):
		s, e.Subdomains = s[1:], false
	}
	d, ok := normalize(s)
	if !ok || d == "" || len(d) > 253 || strings.ContainsAny(d, "* \t") {
		return e, fmt.Errorf("%q is not a domain name", s)
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 {
			return e, fmt.Errorf("%q is not a domain name (empty or over-long label)", s)
		}
	}
	e.Domain = d
	return e, nil
}

var idnaProfile = idna.New(idna.MapForLookup(), idna.Transitional(false), idna.StrictDomainName(false))

// normalize lower-cases a name, drops a final dot and turns a Unicode
// name into its A-label. ok is false for names no DNS lookup could use.
func normalize(s string) (string, bool) {
	s = strings.TrimSuffix(s, ".")
	ascii := true
	upper := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
		if 'A' <= c && c <= 'Z' {
			upper = true
		}
	}
	if !ascii {
		a, err := idnaProfile.ToASCII(s)
		if err != nil {
			return "", false
		}
		return a, true
	}
	if upper {
		s = strings.ToLower(s)
	}
	return s, true
}

// BuildWatchlist makes a watchlist; the same domain given twice keeps the
// union of its flags and the last issuers given.
func BuildWatchlist(entries []WatchEntry) *Watchlist {
	b := newWatchlistBuilder(len(entries))
	size := 0
	for _, e := range entries {
		size += len(e.Domain)
	}
	b.arena = make([]byte, 0, size)
	for _, e := range entries {
		b.add(e)
	}
	return b.build()
}

// watchlistBuilder collects domains compactly (a file of millions is
// streamed into it, never held as a slice of entries), then indexes them.
type watchlistBuilder struct {
	arena    []byte
	rules    []rule
	issuers  [][]string
	issIndex map[string]uint16
}

func newWatchlistBuilder(hint int) *watchlistBuilder {
	return &watchlistBuilder{arena: make([]byte, 0, hint*16), rules: make([]rule, 0, hint),
		issuers: [][]string{nil}, issIndex: map[string]uint16{}}
}

func (b *watchlistBuilder) add(e WatchEntry) {
	var iss uint16
	if len(e.Issuers) > 0 {
		key := strings.Join(e.Issuers, "\x00")
		i, ok := b.issIndex[key]
		if !ok && len(b.issuers) < 1<<16 {
			i = uint16(len(b.issuers))
			b.issuers = append(b.issuers, e.Issuers)
			b.issIndex[key] = i
		}
		iss = i
	}
	var flags uint8
	if e.Apex {
		flags |= flagApex
	}
	if e.Subdomains {
		flags |= flagSubdomains
	}
	b.rules = append(b.rules, rule{off: uint32(len(b.arena)), n: uint8(len(e.Domain)), flags: flags, iss: iss})
	b.arena = append(b.arena, e.Domain...)
}

func (b *watchlistBuilder) build() *Watchlist {
	nslots := 16
	for nslots*3 < len(b.rules)*4 { // at most three quarters full
		nslots *= 2
	}
	w := &Watchlist{slots: make([]uint64, nslots), mask: uint64(nslots - 1), parents: map[uint64]uint32{},
		issuers: b.issuers, arena: b.arena, rules: b.rules}
	for n := range w.rules {
		r := w.rules[n]
		d := w.domain(r)
		h := hashDomain(d)
		if first, ok := w.find(d, h); ok {
			// A duplicate: merge into the first, leave this one unindexed.
			w.rules[first].flags |= r.flags
			if r.iss != 0 {
				w.rules[first].iss = r.iss
			}
			continue
		}
		w.count++
		if r.flags&flagApex != 0 {
			if dot := strings.IndexByte(d, '.'); dot > 0 {
				ph := hashDomain(d[dot+1:])
				if _, ok := w.parents[ph]; !ok {
					w.parents[ph] = uint32(n)
				}
			}
		}
		i := h & w.mask
		for w.slots[i] != 0 {
			i = (i + 1) & w.mask
		}
		w.slots[i] = h&^0xffffffff | uint64(n+1)
	}
	return w
}

// Len is the number of watched domains.
func (w *Watchlist) Len() int {
	if w == nil {
		return 0
	}
	return w.count
}

func (w *Watchlist) domain(r rule) string {
	return string(w.arena[r.off : r.off+uint32(r.n)])
}

func (w *Watchlist) find(d string, h uint64) (uint32, bool) {
	tag := h &^ 0xffffffff
	for i := h & w.mask; ; i = (i + 1) & w.mask {
		s := w.slots[i]
		if s == 0 {
			return 0, false
		}
		if s&^0xffffffff == tag {
			n := uint32(s) - 1
			if r := w.rules[n]; int(r.n) == len(d) && w.domain(r) == d {
				return n, true
			}
		}
	}
}

// The hash of a domain folds the hashes of its labels from the right, so
// matching computes every suffix's hash in one pass over the name.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func mix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	return h
}

func hashDomain(d string) uint64 {
	var h uint64 = fnvOffset
	end := len(d)
	for i := len(d) - 1; i >= -1; i-- {
		if i == -1 || d[i] == '.' {
			h = foldLabel(h, d[i+1:end])
			end = i
		}
	}
	return h
}

func foldLabel(h uint64, label string) uint64 {
	l := uint64(fnvOffset)
	for j := 0; j < len(label); j++ {
		l ^= uint64(label[j])
		l *= fnvPrime
	}
	return mix(h*31 ^ l)
}

// A Match is a certificate name that a watched domain covers.
type Match struct {
	Name    string // as the certificate has it
	Domain  string // the watched domain
	Issuers []string
}

// Match reports the watched domain covering name, if any: the longest
// watched suffix wins. A wildcard name (*.example.com) is covered by a
// domain watched with its subdomains.
func (w *Watchlist) Match(name string) (Match, bool) {
	if w == nil || len(w.rules) == 0 {
		return Match{}, false
	}
	n, ok := normalize(name)
	if !ok {
		return Match{}, false
	}
	wild := strings.HasPrefix(n, "*.")
	if wild {
		n = n[2:]
	}
	var best rule
	found := false
	h := uint64(fnvOffset)
	end := len(n)
	for i := len(n) - 1; i >= -1; i-- {
		if i != -1 && n[i] != '.' {
			continue
		}
		h = foldLabel(h, n[i+1:end])
		end = i
		idx, ok := w.find(n[i+1:], h)
		if !ok {
			continue
		}
		r := w.rules[idx]
		whole := i == -1
		if (whole && !wild && r.flags&flagApex != 0) || ((!whole || wild) && r.flags&flagSubdomains != 0) {
			best, found = r, true // keep going: a longer suffix is more specific
		}
	}
	if !found && wild {
		// *.example.com covers sub.example.com, watched by name.
		if idx, ok := w.parents[h]; ok {
			r := w.rules[idx]
			d := w.domain(r)
			if dot := strings.IndexByte(d, '.'); dot > 0 && d[dot+1:] == n {
				best, found = r, true
			}
		}
	}
	if !found {
		return Match{}, false
	}
	return Match{Name: name, Domain: w.domain(best), Issuers: w.issuers[best.iss]}, true
}

// ReadWatchlistFile reads a watchlist file: one domain per line, "#"
// comments, blank lines ignored. Only the first field of a line is the
// domain, so that the DNS watch's inventory ("example.com ns1,ns2") can be
// read as is; a field "issuers=letsencrypt.org,digicert.com" gives the
// domain's expected CAs. Bad lines are returned as errors with their line
// numbers, and the good ones are kept.
func ReadWatchlistFile(path string) ([]WatchEntry, []error, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	return ReadWatchlist(f, path)
}

// ReadWatchlist is ReadWatchlistFile on a reader; name is used in errors.
func ReadWatchlist(r io.Reader, name string) ([]WatchEntry, []error, error) {
	var out []WatchEntry
	bad, err := readWatchlist(r, name, func(e WatchEntry) { out = append(out, e) })
	return out, bad, err
}

// readWatchlist calls add for each good line.
func readWatchlist(r io.Reader, name string, add func(WatchEntry)) ([]error, error) {
	var bad []error
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	line := 0
	for sc.Scan() {
		line++
		// Bytes, not Text: a string a line is garbage for millions of lines.
		text := sc.Bytes()
		if i := bytes.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		fields := bytes.Fields(text)
		if len(fields) == 0 {
			continue
		}
		e, err := ParseWatchEntry(string(fields[0]))
		if err != nil {
			if len(bad) < 100 {
				bad = append(bad, fmt.Errorf("%s:%d: %v", name, line, err))
			}
			continue
		}
		for _, f := range fields[1:] {
			if v, ok := bytes.CutPrefix(f, []byte("issuers=")); ok {
				e.Issuers = splitList(string(v))
			}
		}
		add(e)
	}
	return bad, sc.Err()
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, strings.ToLower(s))
		}
	}
	sort.Strings(out)
	return out
}
