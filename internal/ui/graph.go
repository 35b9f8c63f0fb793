package ui

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/vigie"
)

// Graphs are drawn on the server as SVG: no script, no CDN, and a phone
// scales them to its width (viewBox, width 100%).

// ranges are the selectable graph spans.
var ranges = map[string]time.Duration{"hour": time.Hour, "day": 24 * time.Hour, "week": 7 * 24 * time.Hour}

func parseRange(s string) (string, time.Duration, error) {
	if s == "" {
		s = "day"
	}
	d, ok := ranges[s]
	if !ok {
		return "", 0, badRequest("range must be hour, day or week")
	}
	return s, d, nil
}

// graphBuckets is how many points a line keeps whatever the range: each
// bucket shows the highest sample in it, so a spike is never averaged away.
const graphBuckets = 240

const (
	gW, gH          = 720.0, 200.0
	gLeft, gRight   = 48.0, 8.0
	gTop, gBottom   = 8.0, 22.0
	maxLinesInGraph = 8
)

// Graph is one chart: the JSON API returns the points, the page the SVG.
type Graph struct {
	Title  string      `json:"title"`
	Series string      `json:"series"`
	Unit   string      `json:"unit,omitempty"`
	Range  string      `json:"range"`
	From   time.Time   `json:"from"`
	To     time.Time   `json:"to"`
	Lines  []GraphLine `json:"lines"`
	Max    float64     `json:"max"`
	// Band is the subject's habit, drawn behind its line; Marks are
	// moments on the time axis (detection, containment).
	Band  *GraphBand  `json:"band,omitempty"`
	Marks []GraphMark `json:"marks,omitempty"`
	// SVG geometry, for the template only.
	YTicks []graphTick `json:"-"`
	XTicks []graphTick `json:"-"`
}

// GraphBand is a range of values that is normal for the subject.
type GraphBand struct {
	Low   float64 `json:"low"`
	High  float64 `json:"high"`
	Label string  `json:"label"`
	// SVG geometry.
	Y, H float64 `json:"-"`
}

// GraphMark is one moment marked on the time axis.
type GraphMark struct {
	Time  time.Time `json:"t"`
	Label string    `json:"label"`
	X     float64   `json:"-"`
	Class string    `json:"-"`
}

// GraphLine is one subject's points, downsampled.
type GraphLine struct {
	Subject string       `json:"subject"`
	Points  []GraphPoint `json:"points"`
	Last    float64      `json:"last"`
	Class   string       `json:"-"`
	SVG     string       `json:"-"` // "x,y x,y ..." for <polyline points>
	// LastX and LastY mark the newest point (a lone point has no line).
	LastX, LastY float64 `json:"-"`
	LastText     string  `json:"-"`
}

// GraphPoint is the highest value seen in one bucket.
type GraphPoint struct {
	Time  time.Time `json:"t"`
	Value float64   `json:"v"`
}

type graphTick struct {
	Pos    float64
	Label  string
	Anchor string // SVG text-anchor: the end labels stay inside the box
}

// Empty says no line has a point.
func (g *Graph) Empty() bool {
	for _, l := range g.Lines {
		if len(l.Points) > 0 {
			return false
		}
	}
	return true
}

// ViewBox is the SVG's coordinate system.
func (g *Graph) ViewBox() string { return fmt.Sprintf("0 0 %g %g", gW, gH) }

// Geometry for the template's axes.
func (g *Graph) PlotLeft() float64   { return gLeft }
func (g *Graph) PlotRight() float64  { return gW - gRight }
func (g *Graph) PlotTop() float64    { return gTop }
func (g *Graph) PlotBottom() float64 { return gH - gBottom }
func (g *Graph) LabelY() float64     { return gH - 6 }

// downsample folds samples (oldest first) into graphBuckets maxima.
func downsample(samples []vigie.Sample, from, to time.Time) []GraphPoint {
	span := to.Sub(from)
	if span <= 0 || len(samples) == 0 {
		return nil
	}
	width := span / graphBuckets
	var out []GraphPoint
	idx := -1
	for _, s := range samples {
		b := int(s.Time.Sub(from) / width)
		if b < 0 || b >= graphBuckets {
			continue
		}
		if b != idx {
			out = append(out, GraphPoint{Time: from.Add(time.Duration(b) * width), Value: s.Value})
			idx = b
			continue
		}
		if s.Value > out[len(out)-1].Value {
			out[len(out)-1].Value = s.Value
		}
	}
	return out
}

// layout computes the SVG polylines and ticks once the lines are in.
func (g *Graph) layout() {
	max := 0.0
	for _, l := range g.Lines {
		for _, p := range l.Points {
			if p.Value > max && !math.IsInf(p.Value, 0) && !math.IsNaN(p.Value) {
				max = p.Value
			}
		}
	}
	g.Max = max
	if g.Band != nil && g.Band.High > max {
		max = g.Band.High
	}
	top := niceCeil(max)
	span := g.To.Sub(g.From).Seconds()
	plotW, plotH := gW-gLeft-gRight, gH-gTop-gBottom
	for i := range g.Lines {
		l := &g.Lines[i]
		l.Class = fmt.Sprintf("l%d", i%maxLinesInGraph)
		var b strings.Builder
		for j, p := range l.Points {
			v := p.Value
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				v = 0
			}
			x := gLeft + plotW*p.Time.Sub(g.From).Seconds()/span
			y := gTop + plotH*(1-v/top)
			if j > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%.1f,%.1f", x, y)
			l.LastX, l.LastY = math.Round(x*10)/10, math.Round(y*10)/10
		}
		l.SVG = b.String()
		if n := len(l.Points); n > 0 {
			l.Last = l.Points[n-1].Value
			l.LastText = humanNumber(l.Last)
		}
	}
	if b := g.Band; b != nil {
		hi, lo := gTop+plotH*(1-math.Min(b.High, top)/top), gTop+plotH*(1-math.Max(b.Low, 0)/top)
		b.Y, b.H = math.Round(hi*10)/10, math.Round((lo-hi)*10)/10
	}
	for i := range g.Marks {
		m := &g.Marks[i]
		m.X = math.Round((gLeft+plotW*m.Time.Sub(g.From).Seconds()/span)*10) / 10
		m.Class = fmt.Sprintf("m%d", i%2)
	}
	g.YTicks = nil
	for i := 0; i <= 4; i++ {
		v := top * float64(i) / 4
		g.YTicks = append(g.YTicks, graphTick{Pos: gTop + plotH*(1-float64(i)/4), Label: humanNumber(v)})
	}
	g.XTicks = nil
	layoutFmt := "15:04"
	if g.To.Sub(g.From) > 36*time.Hour {
		layoutFmt = "Mon 02"
	}
	for i := 0; i <= 4; i++ {
		t := g.From.Add(time.Duration(float64(g.To.Sub(g.From)) * float64(i) / 4))
		anchor := "middle"
		switch i {
		case 0:
			anchor = "start"
		case 4:
			anchor = "end"
		}
		g.XTicks = append(g.XTicks, graphTick{Pos: gLeft + plotW*float64(i)/4, Label: t.UTC().Format(layoutFmt), Anchor: anchor})
	}
}

// niceCeil rounds max up to 1, 2 or 5 times a power of ten (at least 1).
func niceCeil(max float64) float64 {
	if max <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(max)))
	for _, m := range []float64{1, 2, 5, 10} {
		if max <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func humanNumber(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.3gM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.3gk", v/1e3)
	case v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	default:
		return fmt.Sprintf("%.2g", v)
	}
}

// PlotWidth is the width of the plot area.
func (g *Graph) PlotWidth() float64 { return gW - gLeft - gRight }
