package ui

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/vigie"
)

func TestDownsampleKeepsTheHighestOfEachBucket(t *testing.T) {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	to := from.Add(graphBuckets * time.Minute) // one bucket a minute
	var in []vigie.Sample
	for i := range 3 * graphBuckets { // three samples a bucket, the middle one high
		v := 1.0
		if i%3 == 1 {
			v = float64(i)
		}
		in = append(in, vigie.Sample{Time: from.Add(time.Duration(i) * 20 * time.Second), Value: v})
	}
	in = append(in, vigie.Sample{Time: from.Add(-time.Minute), Value: 1e9}, vigie.Sample{Time: to, Value: 1e9}) // outside
	out := downsample(in, from, to)
	if len(out) != graphBuckets {
		t.Fatalf("%d points, want %d", len(out), graphBuckets)
	}
	for i, p := range out {
		if p.Value != float64(3*i+1) || !p.Time.Equal(from.Add(time.Duration(i)*time.Minute)) {
			t.Fatalf("point %d = %+v", i, p)
		}
	}
}

func TestGraphLayout(t *testing.T) {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	g := &Graph{From: from, To: from.Add(time.Hour), Lines: []GraphLine{
		{Subject: "a", Points: []GraphPoint{{from, 0}, {from.Add(30 * time.Minute), 730}, {from.Add(time.Hour), math.NaN()}}},
		{Subject: "b", Points: []GraphPoint{{from.Add(time.Hour), -5}}},
	}}
	g.layout()
	if g.Max != 730 {
		t.Errorf("max = %v", g.Max)
	}
	if g.Lines[0].SVG != "48.0,178.0 380.0,53.9 712.0,178.0" {
		t.Errorf("svg = %q", g.Lines[0].SVG)
	}
	if g.Lines[1].LastX != 712 || g.Lines[1].LastY != 178 {
		t.Errorf("lone point at %v,%v", g.Lines[1].LastX, g.Lines[1].LastY)
	}
	var labels []string
	for _, tk := range g.YTicks {
		labels = append(labels, tk.Label)
	}
	if strings.Join(labels, " ") != "0 250 500 750 1000" {
		t.Errorf("y labels = %v", labels)
	}
	if g.XTicks[0].Label != "00:00" || g.XTicks[4].Label != "01:00" {
		t.Errorf("x labels = %+v", g.XTicks)
	}
}

func TestNiceNumbers(t *testing.T) {
	for in, want := range map[float64]float64{0: 1, 0.5: 1, 1: 1, 7: 10, 12: 20, 730: 1000, 751: 1000, 1850: 2000, 4999: 5000} {
		if got := niceCeil(in); got != want {
			t.Errorf("niceCeil(%v) = %v, want %v", in, got, want)
		}
	}
	for in, want := range map[float64]string{0: "0", 61.333: "61", 2.5: "2.5", 12500: "12.5k", 3e6: "3M"} {
		if got := humanNumber(in); got != want {
			t.Errorf("humanNumber(%v) = %q, want %q", in, got, want)
		}
	}
}
