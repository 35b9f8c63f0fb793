package dnswatch

import (
	"context"
	"sort"
	"strings"

	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
)

// The evidence of a drift that the dashboard and the incident report read:
// "expected"/"observed" (of the record named by "record", else the rule),
// or "<TYPE> expected"/"<TYPE> observed" for several records at once; and
// the longest TTL the changed data was served with.
const (
	EvidenceExpected watch.EvidenceKey = "expected"
	EvidenceObserved watch.EvidenceKey = "observed"
	EvidenceRecord   watch.EvidenceKey = "record"
	EvidenceTTL      watch.EvidenceKey = "ttl"
	// typedExpected and typedObserved end the per-type keys.
	typedExpected = " " + string(EvidenceExpected)
	typedObserved = " " + string(EvidenceObserved)
)

// driftRow is one record of a DNS alert whose evidence holds an expected
// and an observed value.
type driftRow struct {
	AlertID  int64  `json:"alert_id"`
	Domain   string `json:"domain"`
	Record   string `json:"record"`
	Expected string `json:"expected"`
	Observed string `json:"observed"`
}

func driftPanel() watch.Panel {
	return watch.Panel{
		Key: "drift",
		Data: func(_ context.Context, in watch.PanelInput) (any, error) {
			if rows := driftRows(in.Alerts); len(rows) > 0 {
				return rows, nil
			}
			return nil, nil
		},
		Template: `{{with .Data}}
	<section class="panel">
	<h2>Drift: expected and observed</h2>
	<div class="scroll"><table id="drift">
	<thead><tr><th>Domain</th><th>Record</th><th>Expected</th><th>Observed</th></tr></thead>
	<tbody>{{range $i, $r := .}}{{if lt $i 200}}<tr><td class="subject"><a href="/alerts/{{$r.AlertID}}">{{$r.Domain}}</a></td><td>{{$r.Record}}</td>
	<td class="subject"><code>{{$r.Expected}}</code></td><td class="subject"><code>{{$r.Observed}}</code></td></tr>{{end}}{{end}}</tbody></table></div>
	</section>
	{{end}}`,
	}
}

func driftRows(alerts []vigie.Alert) []driftRow {
	out := []driftRow{}
	for _, a := range alerts {
		if exp, ok := a.Evidence[string(EvidenceExpected)]; ok {
			rec := EvidenceRecord.Of(a.Evidence)
			if rec == "" {
				rec = a.Rule
			}
			out = append(out, driftRow{AlertID: a.ID, Domain: a.Subject, Record: rec, Expected: exp, Observed: EvidenceObserved.Of(a.Evidence)})
		}
		var types []string
		for k := range a.Evidence {
			if t, ok := strings.CutSuffix(k, typedExpected); ok {
				types = append(types, t)
			}
		}
		sort.Strings(types)
		for _, t := range types {
			out = append(out, driftRow{AlertID: a.ID, Domain: a.Subject, Record: t, Expected: a.Evidence[t+typedExpected], Observed: a.Evidence[t+typedObserved]})
		}
	}
	return out
}
