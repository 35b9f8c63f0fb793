// Package alertmanager pushes alert changes to a Prometheus Alertmanager
// through its API v2 (POST /api/v2/alerts), so that vigie's alerts are
// routed, silenced and inhibited with the rest of a site's monitoring.
//
// Each alert becomes one Alertmanager alert with labels alertname (the
// rule), watch, subject, severity, incident and instance (the vigie node),
// and annotations summary and description (the evidence).
// Alertmanager ends an alert that is not sent again before its endsAt, so,
// as Prometheus does, vigie re-sends every active alert each
// ResendInterval (the pipeline's check interval, through Refresh) with
// endsAt four intervals ahead; a resolution is sent with endsAt its time.
package alertmanager

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/notify"
	"github.com/vigie/vigie/internal/vigie"
)

// Options configure a Notifier.
type Options struct {
	Name string
	URL  string // http://127.0.0.1:9093
	// Basic auth or a bearer token, for an Alertmanager behind a proxy.
	Username, Password, Token string
	// GeneratorURL links back to vigie's dashboard (optional).
	GeneratorURL string
	// ResendInterval is how often the pipeline refreshes active alerts
	// (default 1m): a firing alert's endsAt is four of them ahead.
	ResendInterval time.Duration
	Client         *http.Client
	Now            func() time.Time
}

// Notifier implements notify.Notifier.
type Notifier struct{ o Options }

// New checks o and returns a notifier.
func New(o Options) (*Notifier, error) {
	if err := notify.CheckURL(o.URL); err != nil {
		return nil, err
	}
	if o.Client == nil {
		o.Client, _ = notify.NewHTTPClient("")
	}
	if o.Name == "" {
		o.Name = "alertmanager"
	}
	if o.ResendInterval <= 0 {
		o.ResendInterval = time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.URL = strings.TrimRight(o.URL, "/")
	return &Notifier{o: o}, nil
}

// Name implements notify.Notifier.
func (n *Notifier) Name() string { return n.o.Name }

// PostableAlert is the API v2 alert.
type PostableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt,omitzero"`
	EndsAt       time.Time         `json:"endsAt,omitzero"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// Alerts converts m; an alert changed twice in one message is sent once,
// as it was last. A firing alert ends at until unless sent again.
func Alerts(m *notify.Message, generatorURL string, until time.Time) []PostableAlert {
	last := map[int64]int{}
	var out []PostableAlert
	for _, n := range m.Notifications {
		pa := postable(n, generatorURL, until)
		if i, ok := last[n.Alert.ID]; ok {
			out[i] = pa
			continue
		}
		last[n.Alert.ID] = len(out)
		out = append(out, pa)
	}
	return out
}

func postable(n notify.Notification, generatorURL string, until time.Time) PostableAlert {
	a := n.Alert
	pa := PostableAlert{
		Labels: map[string]string{"alertname": a.Rule, "watch": a.Watch, "subject": a.Subject,
			"severity": a.Severity.String(), "instance": a.Node},
		Annotations:  map[string]string{"summary": a.Summary, "description": evidence(a.Evidence)},
		StartsAt:     a.FirstSeen,
		GeneratorURL: generatorURL,
	}
	if a.IncidentID != 0 {
		pa.Labels["incident"] = fmt.Sprint(a.IncidentID)
		pa.Annotations["incident_title"] = n.Incident.Title
		if b := n.Brief; b != nil {
			pa.Annotations["incident_headline"] = b.Headline
			pa.Annotations["vigie_did"] = b.Did
			pa.Annotations["next_step"] = b.Next
			if b.URL != "" {
				pa.GeneratorURL = b.URL // the incident's page beats the dashboard's front page
			}
		}
	}
	if a.Node == "" {
		delete(pa.Labels, "instance")
	}
	if n.Change == notify.Resolved {
		pa.EndsAt = a.ResolvedAt
		if pa.EndsAt.IsZero() {
			pa.EndsAt = n.Time
		}
	} else {
		pa.EndsAt = until
	}
	return pa
}

func evidence(ev map[string]string) string {
	keys := make([]string, 0, len(ev))
	for k := range ev {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, ev[k])
	}
	return b.String()
}

// Notify implements notify.Notifier.
func (n *Notifier) Notify(ctx context.Context, m *notify.Message) error {
	return n.post(ctx, Alerts(m, n.o.GeneratorURL, n.until()))
}

// Refresh implements notify.Refresher: every active alert, again.
func (n *Notifier) Refresh(ctx context.Context, active []vigie.Alert) error {
	if len(active) == 0 {
		return nil
	}
	until := n.until()
	out := make([]PostableAlert, 0, len(active))
	for _, a := range active {
		out = append(out, postable(notify.Notification{Change: notify.Fired, Alert: a}, n.o.GeneratorURL, until))
	}
	return n.post(ctx, out)
}

func (n *Notifier) until() time.Time { return n.o.Now().UTC().Add(4 * n.o.ResendInterval) }

func (n *Notifier) post(ctx context.Context, alerts []PostableAlert) error {
	body, err := json.Marshal(alerts)
	if err != nil {
		return notify.Permanent(err)
	}
	req, err := http.NewRequest(http.MethodPost, n.o.URL+"/api/v2/alerts", bytes.NewReader(body))
	if err != nil {
		return notify.Permanent(err)
	}
	req.Header.Set("Content-Type", "application/json")
	switch {
	case n.o.Token != "":
		req.Header.Set("Authorization", "Bearer "+n.o.Token)
	case n.o.Username != "":
		req.SetBasicAuth(n.o.Username, n.o.Password)
	}
	return notify.Do(ctx, n.o.Client, req)
}
