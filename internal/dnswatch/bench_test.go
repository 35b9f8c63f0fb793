package dnswatch

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/dnswatch/knottest"
	"github.com/vigie/vigie/internal/testutil"
)

// benchDomains is the zone size: small by default so that `go test
// -bench .` stays quick; scripts/bench.d/dns.sh sets 2,100,000, the
// registrar's portfolio.
func benchDomains() int {
	if n, err := strconv.Atoi(os.Getenv("VIGIE_DNS_BENCH_DOMAINS")); err == nil && n > 0 {
		return n
	}
	return 20000
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func benchName(i int) string { return "d" + strconv.Itoa(i) + ".bench." }

// BenchmarkSweep sweeps a zone of delegations served by knotd on
// loopback: parent side (NS, glue and DS of every domain), then full
// (the six record kinds too); it reports domains/s and peak memory, and
// the same parent-side work done by dig -f (one query after the other, as
// a shell-script monitor would) on a sample, for the ratio.
func BenchmarkSweep(b *testing.B) {
	n := benchDomains()
	addrs := knottest.LoopbackBlock()
	port := knottest.FreePortOn(b, addrs[0], addrs[1])
	start := time.Now()
	parent := knottest.StartSigned(b, addrs[0], port, map[string]func(io.Writer) error{"bench.": func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		fmt.Fprintf(bw, "$TTL 3600\nbench. IN SOA ns.bench. h.bench. 1 3600 600 86400 300\nbench. IN NS ns.bench.\nns.bench. IN A 127.0.0.1\n")
		fmt.Fprintf(bw, "hoster.bench. IN NS ns1.hoster.bench.\nns1.hoster.bench. IN A %s\nns2.hoster.bench. IN A %s\n", addrs[1], addrs[1])
		for i := 0; i < n; i++ {
			name := benchName(i)
			fmt.Fprintf(bw, "%s 86400 IN NS ns1.hoster.bench.\n%s 86400 IN NS ns2.hoster.bench.\n", name, name)
			if i%10 == 0 { // one domain in ten is signed
				fmt.Fprintf(bw, "%s 86400 IN DS %d 13 2 %064x\n", name, i%65536, i)
			}
		}
		return bw.Flush()
	}})
	child := knottest.StartWith(b, addrs[1], port, map[string]func(io.Writer) error{"bench.": func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		fmt.Fprintf(bw, "$TTL 300\nbench. IN SOA ns.bench. h.bench. 1 3600 600 86400 300\nbench. IN NS ns.bench.\nns.bench. IN A 127.0.0.1\n")
		// Every domain has its own address (millions of distinct values
		// for the baseline to hold); the _dmarc names match the wildcard.
		for i := 0; i < n; i++ {
			fmt.Fprintf(bw, "%s IN A 10.%d.%d.%d\n", benchName(i), i>>16&255, i>>8&255, i&255)
		}
		fmt.Fprintf(bw, "*.bench. IN TXT \"v=DMARC1; p=none\"\n")
		return bw.Flush()
	}})
	b.Logf("knotd loaded %d delegations and their records in %v", n, time.Since(start).Round(time.Second))
	lines := make([]string, n)
	for i := range lines {
		lines[i] = benchName(i)
	}
	ctx := context.Background()
	var parentRate float64
	for _, scope := range []string{"parent", "full"} {
		b.Run(scope, func(b *testing.B) {
			var res *Result
			var elapsed, cpu, knotCPU time.Duration
			var sendCalls, recvCalls, received, timeouts int64
			for it := 0; it < b.N; it++ {
				m, err := New(Options{Parents: map[string][]string{"bench.": {parent.HostPort()}}, ChildPort: uint16(port),
					Timeout: 2 * time.Second, Retries: 3, Backoff: 100 * time.Millisecond, InFlight: envInt("VIGIE_DNS_BENCH_INFLIGHT", 2000),
					Sockets:      envInt("VIGIE_DNS_BENCH_SOCKETS", 4),
					BaselinePath: filepath.Join(b.TempDir(), "baseline.tsv")})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := m.SetInventory(Inventory{Lines: lines}.Scan); err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				t0, c0, k0 := time.Now(), cpuTime(), parent.CPUTime()+child.CPUTime()
				sc0, rc0, rv0, to0 := m.stats.sendCalls.Load(), m.stats.recvCalls.Load(), m.stats.received.Load(), m.stats.timeouts.Load()
				res, err = m.Sweep(ctx, scope == "full")
				elapsed += time.Since(t0)
				cpu += cpuTime() - c0
				knotCPU += parent.CPUTime() + child.CPUTime() - k0
				sendCalls += m.stats.sendCalls.Load() - sc0
				recvCalls += m.stats.recvCalls.Load() - rc0
				received += m.stats.received.Load() - rv0
				timeouts += m.stats.timeouts.Load() - to0
				m.Close()
				if err != nil {
					b.Fatal(err)
				}
			}
			rate := float64(n) * float64(b.N) / elapsed.Seconds()
			if scope == "parent" {
				parentRate = rate
			}
			b.ReportMetric(rate, "domains/s")
			b.ReportMetric(float64(res.Queries)/elapsed.Seconds()*float64(b.N), "queries/s")
			hwm := peakRSS()
			b.ReportMetric(float64(hwm)/(1<<20), "peakRSS-MiB")
			perDomain := cpu / time.Duration(n*b.N)
			b.ReportMetric(float64(perDomain.Nanoseconds())/1000, "cpu-us/domain")
			b.Logf("%s sweep of %d domains: %v, %.0f domains/s, %d queries, errors %v, peak RSS %d MiB (vigie alone; knotd apart); "+
				"CPU: vigie %v (%v a domain), knotd %v",
				scope, n, (elapsed / time.Duration(b.N)).Round(time.Millisecond), rate, res.Queries, res.Errors, hwm>>20,
				cpu.Round(time.Millisecond), perDomain, knotCPU.Round(time.Millisecond))
			b.Logf("%s sweep: %.1f packets a sendmmsg, %.1f a recvmmsg; %d queries timed out (asked again)", scope,
				float64(res.Queries*int64(b.N))/float64(max(sendCalls, 1)), float64(received)/float64(max(recvCalls, 1)), timeouts)
		})
	}
	b.Run("peer-zdns-parent", func(b *testing.B) {
		// zdns (github.com/zmap/zdns/v2), the field's bulk DNS scanner:
		// scripts/bench.d/dns.sh builds it from the module proxy; without
		// it (VIGIE_ZDNS unset) this part is skipped.
		zdns := os.Getenv("VIGIE_ZDNS")
		if zdns == "" {
			b.Skip("VIGIE_ZDNS not set: zdns not built")
		}
		sample := min(n, 200000)
		in := filepath.Join(b.TempDir(), "names")
		var sb strings.Builder
		for i := 0; i < sample; i++ {
			sb.WriteString(benchName(i))
			sb.WriteByte('\n')
		}
		os.WriteFile(in, []byte(sb.String()), 0o644)
		var elapsed, cpu time.Duration
		for it := 0; it < b.N; it++ {
			// NS with DO: the referral carries the DS or its absence, the
			// same parent-side work as vigie's (one query a domain).
			cmd := exec.Command(zdns, "NS", "--name-servers", parent.HostPort(), "--dnssec", "--threads", "1000",
				"--retries", "3", "--input-file", in, "--output-file", os.DevNull, "--quiet")
			t0 := time.Now()
			out, err := cmd.CombinedOutput()
			elapsed += time.Since(t0)
			if err != nil {
				b.Fatalf("zdns: %v: %s", err, out)
			}
			cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		}
		rate := float64(sample) * float64(b.N) / elapsed.Seconds()
		perDomain := cpu / time.Duration(sample*b.N)
		b.ReportMetric(rate, "domains/s")
		b.ReportMetric(float64(perDomain.Nanoseconds())/1000, "cpu-us/domain")
		if parentRate > 0 {
			b.ReportMetric(parentRate/rate, "vigie/zdns")
		}
		b.Logf("zdns NS --dnssec, 1000 threads, parent side of %d domains: %.0f domains/s, %v CPU a domain; vigie is %.2f times faster",
			sample, rate, perDomain, parentRate/rate)
	})
	b.Run("peer-dig-parent", func(b *testing.B) {
		dig := testutil.RequireProgram(b, "dig")
		sample := min(n, 5000)
		batch := filepath.Join(b.TempDir(), "batch")
		var sb strings.Builder
		for i := 0; i < sample; i++ {
			fmt.Fprintf(&sb, "%s NS\n%s DS\n", benchName(i), benchName(i))
		}
		os.WriteFile(batch, []byte(sb.String()), 0o644)
		var elapsed time.Duration
		for it := 0; it < b.N; it++ {
			t0 := time.Now()
			out, err := exec.Command(dig, "@"+parent.Addr, "-p", strconv.Itoa(port), "+norec", "+dnssec", "+noall", "+authority", "-f", batch).Output()
			elapsed += time.Since(t0)
			if err != nil {
				b.Fatalf("dig: %v", err)
			}
			if got := strings.Count(string(out), "\tNS\t"); got < sample {
				b.Fatalf("dig read %d NS records, want at least %d", got, sample)
			}
		}
		rate := float64(sample) * float64(b.N) / elapsed.Seconds()
		b.ReportMetric(rate, "domains/s")
		if parentRate > 0 {
			b.ReportMetric(parentRate/rate, "vigie/dig")
		}
		b.Logf("dig -f, one query after the other, parent side (NS+DS) of %d domains: %.0f domains/s; vigie is %.1f times faster",
			sample, rate, parentRate/rate)
	})
}

// cpuTime is the processor time this process has used (user + system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS is the process's peak resident memory (VmHWM), in bytes.
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			f := strings.Fields(l)
			if len(f) >= 2 {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}
