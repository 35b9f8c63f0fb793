package ct

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

// cpuTime is this process's user and system time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchDomain matches cttest.Domain: a registrar's customer domains.
func benchDomain(i int) string {
	tlds := []string{"fr", "com", "net", "org", "de", "eu", "io", "be", "ch", "it", "es", "co.uk", "nl", "info", "biz"}
	return fmt.Sprintf("client%07d-site.%s", i, tlds[i%len(tlds)])
}

var (
	bigOnce sync.Once
	bigWL   *Watchlist
	bigMB   float64
)

// bigWatchlist is 2,100,000 domains, the registrar of the delegation
// hijack; built once for all benchmarks, its heap size measured.
func bigWatchlist() (*Watchlist, float64) {
	bigOnce.Do(func() {
		const n = 2_100_000
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		entries := make([]WatchEntry, n)
		for i := range entries {
			entries[i] = WatchEntry{Domain: benchDomain(i), Apex: true, Subdomains: true}
		}
		bigWL = BuildWatchlist(entries)
		entries = nil
		runtime.GC()
		runtime.ReadMemStats(&after)
		bigMB = float64(after.HeapAlloc-before.HeapAlloc) / (1 << 20)
	})
	return bigWL, bigMB
}

// benchLeaves are recorded log entries: certificates and precertificates
// with one to four names, one in 500 for a watched domain.
func benchLeaves(b *testing.B, n int) [][]byte {
	ca := newTestCA(b, "Bench CA")
	rnd := rand.New(rand.NewPCG(1, 2))
	out := make([][]byte, n)
	for i := range out {
		names := make([]string, 1+rnd.IntN(4))
		for j := range names {
			names[j] = fmt.Sprintf("h%d.unwatched%d.example", rnd.IntN(1000), rnd.IntN(1<<30))
		}
		if rnd.IntN(500) == 0 {
			names[0] = "www." + benchDomain(rnd.IntN(2_100_000))
		}
		if i%2 == 0 {
			der := ca.issue(b, names[0], names, int64(i+2), true, false)
			tbs, err := PrecertTBS(der)
			if err != nil {
				b.Fatal(err)
			}
			out[i] = precertLeaf(tbs, [32]byte{1})
		} else {
			out[i] = x509Leaf(ca.issue(b, names[0], names, int64(i+2), false, true))
		}
	}
	return out
}

// BenchmarkParseMatch is the CT watch's hot path: parse a recorded entry
// (MerkleTreeLeaf, certificate or precertificate) and match its names
// against 2,100,000 watched domains. Run it on one core:
// go test -run '^$' -bench ParseMatch -cpu 1 ./internal/ct/
func BenchmarkParseMatch(b *testing.B) {
	wl, mb := bigWatchlist()
	leaves := benchLeaves(b, 4000)
	var names []string
	matches := 0
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e, err := ParseLeafInput(leaves[i%len(leaves)], nil)
		if err != nil {
			b.Fatal(err)
		}
		var ok bool
		_, ok, names, err = matchEntry(wl, &e, names)
		if err != nil {
			b.Fatal(err)
		}
		if ok {
			matches++
		}
	}
	b.StopTimer()
	// On a shared machine wall time says little; CPU time says what one
	// core would do.
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "entries/cpu-s")
	}
	b.ReportMetric(mb, "watchlist-MB")
}

// BenchmarkWatchlistBuild is loading 2,100,000 domains (start and every
// reload of the watchlist).
func BenchmarkWatchlistBuild(b *testing.B) {
	entries := make([]WatchEntry, 2_100_000)
	for i := range entries {
		entries[i] = WatchEntry{Domain: benchDomain(i), Apex: true, Subdomains: true}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		BuildWatchlist(entries)
	}
}
