package blocklist

import (
	"context"
	"sort"

	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
)

// EvidenceZone is the zone (list) a listing finding is about, when its key
// does not say it.
const EvidenceZone watch.EvidenceKey = "zone"

// matrixPanel is the blocklist page's targets x zones grid, from the
// active blocklist alerts (key vigie.BlocklistKey(target, zone)).
type matrixPanel struct {
	Zones   []string    `json:"zones"`
	Targets []matrixRow `json:"targets"`
}

type matrixRow struct {
	Target string   `json:"target"`
	Listed []string `json:"listed_in"`
	Cells  []bool   `json:"-"`
}

func matrix() watch.Panel {
	return watch.Panel{
		Key: "blocklist_matrix",
		Data: func(_ context.Context, in watch.PanelInput) (any, error) {
			return blocklistMatrix(in.Alerts), nil
		},
		Template: `{{with .Data}}
	<section class="panel">
	<h2>Targets × zones</h2>
	<div class="scroll"><table class="matrix">
	<thead><tr><th>Target</th>{{range .Zones}}<th>{{.}}</th>{{end}}</tr></thead>
	<tbody>{{range .Targets}}<tr><td class="subject">{{.Target}}</td>{{range .Cells}}<td class="{{if .}}listed{{else}}clean{{end}}">{{if .}}listed{{else}}-{{end}}</td>{{end}}</tr>
	{{else}}<tr><td class="empty">Listed nowhere.</td></tr>{{end}}</tbody></table></div>
	</section>
	{{end}}`,
	}
}

func blocklistMatrix(alerts []vigie.Alert) *matrixPanel {
	m := &matrixPanel{Zones: []string{}, Targets: []matrixRow{}}
	zones := map[string]bool{}
	listed := map[string]map[string]bool{}
	for _, a := range alerts {
		target, zone := a.Subject, EvidenceZone.Of(a.Evidence)
		if t, z, ok := vigie.ParseBlocklistKey(a.Key); ok && zone == "" {
			target, zone = t, z
		}
		if zone == "" {
			continue
		}
		zones[zone] = true
		if listed[target] == nil {
			listed[target] = map[string]bool{}
		}
		listed[target][zone] = true
	}
	for z := range zones {
		m.Zones = append(m.Zones, z)
	}
	sort.Strings(m.Zones)
	var targets []string
	for t := range listed {
		targets = append(targets, t)
	}
	sort.Strings(targets)
	for _, t := range targets {
		row := matrixRow{Target: t, Listed: []string{}}
		for _, z := range m.Zones {
			row.Cells = append(row.Cells, listed[t][z])
			if listed[t][z] {
				row.Listed = append(row.Listed, z)
			}
		}
		m.Targets = append(m.Targets, row)
	}
	return m
}
