package mail

import (
	"bufio"
	"bytes"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/mail/mailgen"
	"github.com/vigie/vigie/internal/mail/postfixlog"
	"github.com/vigie/vigie/internal/vigie"
)

func benchLines(b *testing.B) []string {
	b.Helper()
	day := time.Date(2024, 9, 29, 0, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	mailgen.Scenario{Start: day, End: day.Add(24 * time.Hour), Seed: 1, Classic: true, Users: 200, PerUserPerDay: 30, InboundPerHour: 200,
		Bursts: []mailgen.Burst{{User: "stolen@example.org", Start: day.Add(13 * time.Hour), Every: time.Second, Count: 3600, Blocked: true}}}.Write(&buf)
	var lines []string
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

// BenchmarkEngine is the watch's whole per-line work (parse, join by queue
// id, every detector), one day of traffic at a time.
func BenchmarkEngine(b *testing.B) {
	lines := benchLines(b)
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for n < b.N {
		e := NewEngine(EngineOptions{Config: defaults(), LogQueue: true, Emit: func(vigie.Finding) {},
			Reference: time.Date(2024, 9, 30, 0, 0, 0, 0, time.UTC), Location: time.UTC})
		for _, l := range lines {
			e.Line(l)
			if n++; n >= b.N {
				break
			}
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkReport is `vigie mail report`'s per-line work.
func BenchmarkReport(b *testing.B) {
	lines := benchLines(b)
	b.ReportAllocs()
	b.ResetTimer()
	rp := NewReporter(postfixlogOptions())
	for i := 0; i < b.N; i++ {
		rp.Line(lines[i%len(lines)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}

func postfixlogOptions() postfixlog.Options {
	return postfixlog.Options{Reference: time.Date(2024, 9, 30, 0, 0, 0, 0, time.UTC), Location: time.UTC}
}
