package postfixlog

import (
	"bufio"
	"bytes"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/mail/mailgen"
)

// BenchmarkParse parses a generated day of real-format traffic and
// reports lines per second on one core.
func BenchmarkParse(b *testing.B) {
	day := time.Date(2024, 9, 29, 0, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	mailgen.Scenario{Start: day, End: day.Add(24 * time.Hour), Seed: 1, Classic: true, Users: 200, PerUserPerDay: 30, InboundPerHour: 200,
		Bursts: []mailgen.Burst{{User: "stolen@example.org", Start: day.Add(13 * time.Hour), Every: time.Second, Count: 3600, Blocked: true}}}.Write(&buf)
	var lines []string
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	p := NewParser(Options{Reference: day, Location: time.UTC})
	var e Entry
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		p.Parse(lines[i%len(lines)], &e)
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "lines/s")
}
