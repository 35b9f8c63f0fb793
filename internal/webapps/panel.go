package webapps

import (
	"context"
	"encoding/json"
	"sort"
	"time"

	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
)

// The evidence of a web finding that other parts of vigie read: the
// hosting account that owns the install (shown, grouped by on the
// dashboard) and its Unix uid (joins the incident of that uid's mail).
const (
	EvidenceOwner watch.EvidenceKey = "owner"
	EvidenceUID   watch.EvidenceKey = "uid"
)

// StateData is the state key (in the watch's state space) of what the
// last scan says about the version data that rated the installs.
const StateData = "data"

// webData is what the web watch records (StateData) about the version data
// that rated the installs: stale data hides newer advisories, so the page
// says how old it is.
type webData struct {
	Date      string    `json:"date"` // YYYY-MM-DD, when the figures were compiled
	Source    string    `json:"source"`
	ScannedAt time.Time `json:"scanned_at"`
	Installs  int       `json:"installs"`
	AgeDays   int       `json:"age_days"`
}

func dataPanel() watch.Panel {
	return watch.Panel{
		Key: "web_data",
		Data: func(ctx context.Context, in watch.PanelInput) (any, error) {
			if d := webDataInfo(ctx, in); d != nil {
				return d, nil
			}
			return nil, nil
		},
		Template: `{{with .Data}}
	<section class="panel">
	<h2>Version data</h2>
	<p>The installs are rated with version data dated <strong>{{.Date}}</strong> ({{.AgeDays}} days old; source: {{.Source}}).
	Last scan {{.ScannedAt.UTC.Format "2006-01-02 15:04"}} UTC, {{.Installs}} installs. Refresh it with <code>vigie web update-data FILE|URL</code>.</p>
	</section>
	{{end}}`,
	}
}

func webDataInfo(ctx context.Context, in watch.PanelInput) *webData {
	if in.State == nil {
		return nil
	}
	b, err := in.State(ctx, StateData)
	if err != nil {
		return nil
	}
	var d webData
	if json.Unmarshal(b, &d) != nil {
		return nil
	}
	if t, err := time.Parse(time.DateOnly, d.Date); err == nil {
		d.AgeDays = int(in.Now.Sub(t).Hours() / 24)
	}
	return &d
}

// ownerRow counts a web watch's active alerts per owner.
type ownerRow struct {
	Owner  string `json:"owner"`
	Alerts int    `json:"active_alerts"`
	Worst  string `json:"worst_severity"`
}

func ownersPanel() watch.Panel {
	return watch.Panel{
		Key: "owners",
		Data: func(_ context.Context, in watch.PanelInput) (any, error) {
			if rows := ownerRows(in.Alerts); len(rows) > 0 {
				return rows, nil
			}
			return nil, nil
		},
		Template: `{{with .Data}}
	<section class="panel">
	<h2>By owner</h2>
	<div class="scroll"><table>
	<thead><tr><th>Owner</th><th>Active alerts</th><th>Worst</th></tr></thead>
	<tbody>{{range .}}<tr><td class="subject">{{.Owner}}</td><td>{{.Alerts}}</td><td>{{template "sev" .Worst}}</td></tr>{{end}}</tbody></table></div>
	</section>
	{{end}}`,
	}
}

func ownerRows(alerts []vigie.Alert) []ownerRow {
	idx := map[string]int{}
	worst := map[string]vigie.Severity{}
	out := []ownerRow{}
	for _, a := range alerts {
		o := EvidenceOwner.Of(a.Evidence)
		if o == "" {
			continue
		}
		i, ok := idx[o]
		if !ok {
			i = len(out)
			idx[o] = i
			out = append(out, ownerRow{Owner: o})
		}
		out[i].Alerts++
		if a.Severity > worst[o] {
			worst[o] = a.Severity
			out[i].Worst = a.Severity.String()
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Alerts > out[j].Alerts })
	return out
}
