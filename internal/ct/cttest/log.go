package cttest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/mod/sumdb/tlog"
)

// A Log is an RFC 6962 log in memory: get-sth, get-entries and
// get-sth-consistency, with signed tree heads. Its misbehaviours are
// switched on by the fields below, for tests.
type Log struct {
	Key    *ecdsa.PrivateKey
	PubB64 string // base64 SubjectPublicKeyInfo, as in log lists

	mu      sync.Mutex
	leaves  [][]byte // leaf_input
	extra   [][]byte
	hashes  []tlog.Hash
	sthTime uint64

	// Tamper serves, for these indexes, a leaf that differs from the one
	// the tree commits to.
	Tamper map[int64]bool
	// BadSignature signs tree heads with another key.
	BadSignature bool
	// Throttle answers 429 to this many requests, then serves.
	Throttle atomic.Int64
	// MaxBatch caps get-entries like real logs do (0: 1000).
	MaxBatch int
	// Requests counts the requests served.
	Requests atomic.Int64
	// BrokenJSON answers get-entries with a truncated JSON document.
	BrokenJSON atomic.Bool
	// Frozen keeps the served tree head at this size (0: the latest).
	Frozen atomic.Int64
}

// NewLog makes an empty log with a fresh P-256 key.
func NewLog() (*Log, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	spki, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return nil, err
	}
	return &Log{Key: k, PubB64: base64.StdEncoding.EncodeToString(spki), Tamper: map[int64]bool{}, sthTime: uint64(time.Now().UnixMilli())}, nil
}

func merkleLeaf(ts uint64, precert bool, ikh [32]byte, body []byte) []byte {
	b := cryptobyte.NewBuilder(nil)
	b.AddUint8(0)
	b.AddUint8(0)
	b.AddUint64(ts)
	if precert {
		b.AddUint16(1)
		b.AddBytes(ikh[:])
	} else {
		b.AddUint16(0)
	}
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(body) })
	b.AddUint16(0) // no extensions
	return b.BytesOrPanic()
}

// AddCert logs a certificate and returns its index.
func (l *Log) AddCert(der []byte) int64 {
	return l.add(merkleLeaf(l.nextTime(), false, [32]byte{}, der), []byte{0, 0, 0})
}

// AddPrecert logs a precertificate: tbs is its TBSCertificate without
// the poison (see ct.PrecertTBS), ikh its issuer's key hash.
func (l *Log) AddPrecert(precert, tbs []byte, ikh [32]byte) int64 {
	b := cryptobyte.NewBuilder(nil)
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(precert) })
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {})
	return l.add(merkleLeaf(l.nextTime(), true, ikh, tbs), b.BytesOrPanic())
}

// AddRaw logs a leaf_input as is (garbage tests).
func (l *Log) AddRaw(leafInput []byte) int64 { return l.add(leafInput, nil) }

// SetTime sets the clock the log stamps the next entries and heads with
// (milliseconds, one more per entry), so that a replay can log a
// certificate at a past time.
func (l *Log) SetTime(t time.Time) {
	l.mu.Lock()
	l.sthTime = uint64(t.UnixMilli())
	l.mu.Unlock()
}

func (l *Log) nextTime() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sthTime++
	return l.sthTime
}

func (l *Log) add(leaf, extra []byte) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := int64(len(l.leaves))
	hs, err := tlog.StoredHashes(n, leaf, tlog.HashReaderFunc(l.readHashes))
	if err != nil {
		panic(err)
	}
	l.leaves = append(l.leaves, leaf)
	l.extra = append(l.extra, extra)
	l.hashes = append(l.hashes, hs...)
	return n
}

func (l *Log) readHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		if x >= int64(len(l.hashes)) {
			return nil, fmt.Errorf("no hash %d", x)
		}
		out[i] = l.hashes[x]
	}
	return out, nil
}

// Size is the number of entries.
func (l *Log) Size() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int64(len(l.leaves))
}

func (l *Log) size() int64 {
	if f := l.Frozen.Load(); f > 0 && f < int64(len(l.leaves)) {
		return f
	}
	return int64(len(l.leaves))
}

// ServeHTTP implements the three endpoints a monitor uses.
func (l *Log) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.Requests.Add(1)
	if l.Throttle.Load() > 0 && l.Throttle.Add(-1) >= 0 {
		w.Header().Set("Retry-After", "0")
		http.Error(w, "slow down", http.StatusTooManyRequests)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch r.URL.Path {
	case "/ct/v1/get-sth":
		l.sth(w)
	case "/ct/v1/get-entries":
		if l.BrokenJSON.Load() {
			w.Write([]byte(`{"entries": [{"leaf_input": "AAA`))
			return
		}
		l.entries(w, r)
	case "/ct/v1/get-sth-consistency":
		l.consistency(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (l *Log) sth(w http.ResponseWriter) {
	n := l.size()
	root, err := tlog.TreeHash(n, tlog.HashReaderFunc(l.readHashes))
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	ts := l.sthTime + 1
	in := make([]byte, 0, 50)
	in = append(in, 0, 1)
	in = binary.BigEndian.AppendUint64(in, ts)
	in = binary.BigEndian.AppendUint64(in, uint64(n))
	in = append(in, root[:]...)
	key := l.Key
	if l.BadSignature {
		key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	d := sha256.Sum256(in)
	sig, err := ecdsa.SignASN1(rand.Reader, key, d[:])
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	ds := cryptobyte.NewBuilder([]byte{4, 3})
	ds.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(sig) })
	writeJSON(w, map[string]any{"tree_size": n, "timestamp": ts, "sha256_root_hash": root[:], "tree_head_signature": ds.BytesOrPanic()})
}

func (l *Log) entries(w http.ResponseWriter, r *http.Request) {
	start, err1 := strconv.ParseInt(r.FormValue("start"), 10, 64)
	end, err2 := strconv.ParseInt(r.FormValue("end"), 10, 64)
	n := l.size()
	if err1 != nil || err2 != nil || start < 0 || end < start || start >= n {
		http.Error(w, "bad range", http.StatusBadRequest)
		return
	}
	max := int64(l.MaxBatch)
	if max <= 0 {
		max = 1000
	}
	if end >= n {
		end = n - 1
	}
	if end-start+1 > max {
		end = start + max - 1
	}
	type entry struct {
		LeafInput []byte `json:"leaf_input"`
		ExtraData []byte `json:"extra_data"`
	}
	out := make([]entry, 0, end-start+1)
	for i := start; i <= end; i++ {
		leaf := l.leaves[i]
		if l.Tamper[i] {
			leaf = append([]byte(nil), leaf...)
			leaf[len(leaf)-3] ^= 0xff // a byte of the certificate
		}
		out = append(out, entry{leaf, l.extra[i]})
	}
	writeJSON(w, map[string]any{"entries": out})
}

func (l *Log) consistency(w http.ResponseWriter, r *http.Request) {
	first, err1 := strconv.ParseInt(r.FormValue("first"), 10, 64)
	second, err2 := strconv.ParseInt(r.FormValue("second"), 10, 64)
	if err1 != nil || err2 != nil || first <= 0 || second > l.size() || first > second {
		http.Error(w, "bad sizes", http.StatusBadRequest)
		return
	}
	p, err := tlog.ProveTree(second, first, tlog.HashReaderFunc(l.readHashes))
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	proof := make([][]byte, len(p))
	for i := range p {
		proof[i] = p[i][:]
	}
	writeJSON(w, map[string]any{"consistency": proof})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// LogListJSON is a v3 log list naming this log at url, for certspotter
// and `vigie ct loglist`.
func (l *Log) LogListJSON(url string) []byte {
	id := sha256.Sum256(mustDecode(l.PubB64))
	b, _ := json.MarshalIndent(map[string]any{"version": "1", "operators": []any{map[string]any{
		"name": "vigie test", "email": []string{"test@example.invalid"},
		"logs": []any{map[string]any{"description": "vigie test log", "log_id": base64.StdEncoding.EncodeToString(id[:]),
			"key": l.PubB64, "url": url, "mmd": 86400, "state": map[string]any{"usable": map[string]any{"timestamp": "2024-01-01T00:00:00Z"}}}},
		"tiled_logs": []any{},
	}}}, "", "  ")
	return b
}

func mustDecode(s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}
