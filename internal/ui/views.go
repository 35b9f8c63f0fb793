package ui

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/vigie/vigie/internal/incident"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
)

// Every page reads bounded queries (a limit on each list), so a watch
// flooding findings makes lists longer in the store, not pages slower.
const (
	listLimit       = 200
	overviewLimit   = 50
	findingsLimit   = 100
	timelineShown   = 500
	activeScanLimit = 5000
)

type apiIncident struct {
	ID    int64  `json:"id"`
	Key   string `json:"key"`
	Title string `json:"title"`
	// Headline says what happened (internal/incident), where Title is
	// what the first alert said.
	Headline   string    `json:"headline,omitempty"`
	Severity   string    `json:"severity"`
	State      string    `json:"state"`
	OpenedAt   time.Time `json:"opened_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	AckedBy    string    `json:"acked_by,omitempty"`
	AckedAt    time.Time `json:"acked_at,omitzero"`
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
}

func toAPIIncident(in vigie.Incident) apiIncident {
	return apiIncident{ID: in.ID, Key: in.Key, Title: in.Title, Severity: in.Severity.String(), State: string(in.State),
		OpenedAt: in.OpenedAt, UpdatedAt: in.UpdatedAt, AckedBy: in.AckedBy, AckedAt: in.AckedAt, ResolvedAt: in.ResolvedAt}
}

type apiTimeline struct {
	Time    time.Time         `json:"time"`
	Kind    string            `json:"kind"`
	Actor   string            `json:"actor"`
	Text    string            `json:"text"`
	AlertID int64             `json:"alert_id,omitempty"`
	Data    map[string]string `json:"data,omitempty"`
}

type apiFinding struct {
	ID       int64             `json:"id"`
	AlertID  int64             `json:"alert_id"`
	Watch    string            `json:"watch"`
	Rule     string            `json:"rule"`
	Subject  string            `json:"subject"`
	Severity string            `json:"severity,omitempty"`
	Time     time.Time         `json:"time"`
	Summary  string            `json:"summary"`
	Evidence map[string]string `json:"evidence,omitempty"`
	Resolved bool              `json:"resolved,omitempty"`
	Node     string            `json:"node,omitempty"`
}

func toAPIFinding(f store.StoredFinding) apiFinding {
	sev := ""
	if f.Severity.Valid() {
		sev = f.Severity.String()
	}
	return apiFinding{ID: f.ID, AlertID: f.AlertID, Watch: f.Watch, Rule: f.Rule, Subject: f.Subject, Severity: sev,
		Time: f.Time, Summary: f.Summary, Evidence: f.Evidence, Resolved: f.Resolved, Node: f.Node}
}

type apiAudit struct {
	Time   time.Time `json:"time"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Target string    `json:"target,omitempty"`
	Detail string    `json:"detail,omitempty"`
	Result string    `json:"result"`
}

// watchHealth is one watch's line on the overview.
type watchHealth struct {
	Name   string `json:"name"`
	Status string `json:"status"` // up, restarting, not running
	Active int    `json:"active_alerts"`
	// More says Active stopped counting at the scan limit.
	More bool `json:"active_alerts_capped,omitempty"`
}

type overviewView struct {
	Incidents []apiIncident  `json:"open_incidents"`
	Watches   []watchHealth  `json:"watches"`
	Queue     *Graph         `json:"mail_queue"`
	Range     string         `json:"range"`
	Counts    map[string]int `json:"alert_counts"`
}

func (overviewView) title() string { return "Overview" }

func (s *Server) overviewData(r *http.Request) (any, error) {
	ctx := r.Context()
	rng, span, err := parseRange(r.URL.Query().Get("range"))
	if err != nil {
		return nil, err
	}
	ins, err := s.o.Store.ListIncidents(ctx, store.IncidentQuery{States: []vigie.IncidentState{vigie.IncidentOpen, vigie.IncidentAcknowledged}, Limit: overviewLimit})
	if err != nil {
		return nil, err
	}
	v := overviewView{Range: rng, Counts: map[string]int{}}
	if v.Incidents, err = s.withHeadlines(ctx, ins); err != nil {
		return nil, err
	}
	if v.Watches, err = s.health(ctx); err != nil {
		return nil, err
	}
	for _, w := range v.Watches {
		v.Counts[w.Name] = w.Active
	}
	if q := s.overviewSeries(); q != nil {
		if v.Queue, err = s.graph(ctx, *q, nil, rng, span); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// health joins what the app runs (Options.Running) with the active
// alerts (what the watches found).
func (s *Server) health(ctx context.Context) ([]watchHealth, error) {
	var up map[string]bool
	if s.o.Running != nil {
		up = s.o.Running()
	}
	active, err := s.o.Store.ListAlerts(ctx, store.AlertQuery{States: []vigie.AlertState{vigie.AlertFiring, vigie.AlertAcknowledged}, Limit: activeScanLimit})
	if err != nil {
		return nil, err
	}
	count := map[string]int{}
	for _, a := range active {
		count[a.Watch]++
	}
	names := map[string]bool{}
	var order []string
	add := func(n string) {
		if !names[n] {
			names[n] = true
			order = append(order, n)
		}
	}
	for _, n := range s.o.Watches.Names() {
		add(n)
	}
	var extra []string
	for n := range up {
		extra = append(extra, n)
	}
	for n := range count {
		extra = append(extra, n)
	}
	sort.Strings(extra)
	for _, n := range extra {
		add(n)
	}
	out := make([]watchHealth, 0, len(order))
	for _, n := range order {
		h := watchHealth{Name: n, Status: "not running", Active: count[n], More: len(active) >= activeScanLimit}
		if running, ok := up[n]; ok {
			h.Status = "restarting"
			if running {
				h.Status = "up"
			}
		}
		out = append(out, h)
	}
	return out, nil
}

// graph reads one series over the range; subjects nil means def's own.
func (s *Server) graph(ctx context.Context, def watch.Series, subjects []string, rng string, span time.Duration) (*Graph, error) {
	to := s.o.Now().UTC()
	from := to.Add(-span)
	g := &Graph{Title: def.Title, Series: string(def.Name), Unit: def.Unit, Range: rng, From: from, To: to}
	if subjects == nil {
		subjects = def.Subjects
	}
	for _, sub := range subjects {
		samples, err := s.o.Store.Samples(ctx, string(def.Name), sub, from, to)
		if err != nil {
			return nil, err
		}
		if len(samples) == 0 {
			continue
		}
		g.Lines = append(g.Lines, GraphLine{Subject: sub, Points: downsample(samples, from, to)})
		if len(g.Lines) == maxLinesInGraph {
			break
		}
	}
	g.layout()
	return g, nil
}

type incidentsView struct {
	State     string        `json:"state"`
	Incidents []apiIncident `json:"incidents"`
}

func (incidentsView) title() string { return "Incidents" }

func (s *Server) incidentsData(r *http.Request) (any, error) {
	q := store.IncidentQuery{Limit: listLimit}
	st := r.URL.Query().Get("state")
	switch st {
	case "", "active":
		st = "active"
		q.States = []vigie.IncidentState{vigie.IncidentOpen, vigie.IncidentAcknowledged}
	case "open", "acknowledged", "resolved":
		q.States = []vigie.IncidentState{vigie.IncidentState(st)}
	case "all":
	default:
		return nil, badRequest("state must be active, open, acknowledged, resolved or all")
	}
	ins, err := s.o.Store.ListIncidents(r.Context(), q)
	if err != nil {
		return nil, err
	}
	v := incidentsView{State: st}
	if v.Incidents, err = s.withHeadlines(r.Context(), ins); err != nil {
		return nil, err
	}
	return v, nil
}

// The incident page opens with the incident told by kind (its story and
// checklist, from internal/incident), then a page of its alerts: a
// 751-domain hijack is a summary and 50 rows, not 751 rows.
const (
	alertsPage       = 50
	timelinePage     = 100
	incidentGraphPad = time.Hour // the subject's graph starts this long before the detection
)

type incidentView struct {
	Incident apiIncident `json:"incident"`
	Headline string      `json:"headline"`
	Story    any         `json:"story"`
	Checks   any         `json:"checklist"`
	Alerts   []apiAlert  `json:"alerts"`
	// AlertsTotal is how many alerts the incident has; Alerts holds the
	// first Shown of them in the Sort order.
	AlertsTotal int           `json:"alerts_total"`
	Shown       int           `json:"alerts_shown"`
	Sort        string        `json:"sort"`
	Desc        bool          `json:"desc"`
	Timeline    []apiTimeline `json:"timeline"`
	// TimelineCut says older entries were left out.
	TimelineCut  int               `json:"timeline_omitted,omitempty"`
	TimelineMore int               `json:"-"` // the ?timeline= that shows more
	Graphs       []*Graph          `json:"graphs"`
	RevertPlan   bool              `json:"revert_plan_available"`
	MailActions  bool              `json:"-"`
	Accounts     []incidentAccount `json:"-"`
	// Report is the incident told by kind, for the template.
	Report *incident.Report `json:"-"`
	More   string           `json:"-"` // the query that shows the next page of alerts
}

// incidentAccount is an account of the incident with an alert to hold
// its mail from.
type incidentAccount struct {
	Account string
	AlertID int64
}

func (v incidentView) title() string { return "Incident " + strconv.FormatInt(v.Incident.ID, 10) }

// SortLink is the query that sorts the alerts by col (toggling the order
// when they are already sorted by it).
func (v incidentView) SortLink(col string) string {
	q := url.Values{"sort": {col}}
	if col == v.Sort && !v.Desc {
		q.Set("dir", "desc")
	}
	return "?" + q.Encode()
}

// alertSorts are the alert table's sortable columns.
var alertSorts = map[string]func(a, b *vigie.Alert) int{
	"id":       func(a, b *vigie.Alert) int { return cmp.Compare(a.ID, b.ID) },
	"severity": func(a, b *vigie.Alert) int { return cmp.Compare(a.Severity, b.Severity) },
	"state":    func(a, b *vigie.Alert) int { return cmp.Compare(a.State, b.State) },
	"rule":     func(a, b *vigie.Alert) int { return cmp.Compare(a.Watch+"/"+a.Rule, b.Watch+"/"+b.Rule) },
	"subject":  func(a, b *vigie.Alert) int { return cmp.Compare(a.Subject, b.Subject) },
	"count":    func(a, b *vigie.Alert) int { return cmp.Compare(a.Count, b.Count) },
	"first":    func(a, b *vigie.Alert) int { return a.FirstSeen.Compare(b.FirstSeen) },
	"last":     func(a, b *vigie.Alert) int { return a.LastSeen.Compare(b.LastSeen) },
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, badRequest("the id must be a positive number")
	}
	return id, nil
}

func (s *Server) incidentData(r *http.Request) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	sortBy := q.Get("sort")
	if sortBy == "" {
		sortBy = "first"
	}
	less, ok := alertSorts[sortBy]
	if !ok {
		return nil, badRequest("sort must be one of id, severity, state, rule, subject, count, first, last")
	}
	desc := q.Get("dir") == "desc"
	shown := alertsPage
	if v := q.Get("show"); v != "" {
		if shown, err = strconv.Atoi(v); err != nil || shown < 1 {
			return nil, badRequest("show must be a positive number")
		}
	}
	tlShown := timelinePage
	if v := q.Get("timeline"); v != "" {
		if tlShown, err = strconv.Atoi(v); err != nil || tlShown < 1 {
			return nil, badRequest("timeline must be a positive number")
		}
	}
	ctx := r.Context()
	rep, err := incident.BuildWith(ctx, s.o.Store, s.o.Watches, id, s.o.Now())
	if err != nil {
		return nil, err
	}
	v := incidentView{Incident: toAPIIncident(rep.Incident), Headline: rep.Story.Headline, Story: rep.StoryJSON(), Checks: rep.ChecklistJSON(),
		Alerts: []apiAlert{}, AlertsTotal: len(rep.Alerts), Sort: sortBy, Desc: desc, Report: rep, MailActions: s.o.Mail != nil,
		RevertPlan: len(rep.RevertPlan) > 0, Graphs: []*Graph{}}
	alerts := append([]vigie.Alert(nil), rep.Alerts...)
	slices.SortStableFunc(alerts, func(a, b vigie.Alert) int {
		if desc {
			return less(&b, &a)
		}
		return less(&a, &b)
	})
	seen := map[string]bool{}
	for _, a := range rep.Alerts {
		if acc := s.holdAccount(toAPIAlert(a)); acc != "" && !seen[acc] && len(v.Accounts) < 20 {
			seen[acc] = true
			v.Accounts = append(v.Accounts, incidentAccount{Account: acc, AlertID: a.ID})
		}
	}
	v.Shown = min(shown, len(alerts))
	for _, a := range alerts[:v.Shown] {
		v.Alerts = append(v.Alerts, toAPIAlert(a))
	}
	if v.Shown < len(alerts) {
		mq := url.Values{"sort": {sortBy}, "show": {strconv.Itoa(v.Shown + alertsPage)}}
		if desc {
			mq.Set("dir", "desc")
		}
		v.More = "?" + mq.Encode()
	}
	tl := rep.Timeline
	if len(tl) > tlShown {
		v.TimelineCut = len(tl) - tlShown
		v.TimelineMore = tlShown * 4
		tl = tl[len(tl)-tlShown:]
	}
	for _, e := range tl {
		v.Timeline = append(v.Timeline, apiTimeline{Time: e.Time, Kind: string(e.Kind), Actor: e.Actor, Text: e.Text, AlertID: e.AlertID, Data: e.Data})
	}
	if v.Graphs, err = s.incidentGraphs(ctx, rep); err != nil {
		return nil, err
	}
	return v, nil
}

type alertsView struct {
	States []string   `json:"states,omitempty"`
	Watch  string     `json:"watch,omitempty"`
	Alerts []apiAlert `json:"alerts"`
}

func (alertsView) title() string { return "Alerts" }

// alertsData serves /alerts and GET /api/v1/alerts?state=firing&state=acknowledged&watch=mail&limit=100.
func (s *Server) alertsData(r *http.Request) (any, error) {
	qv := r.URL.Query()
	q := store.AlertQuery{Watch: qv.Get("watch"), Limit: listLimit}
	v := alertsView{Watch: q.Watch, Alerts: []apiAlert{}}
	for _, st := range qv["state"] {
		switch state := vigie.AlertState(st); state {
		case vigie.AlertFiring, vigie.AlertAcknowledged, vigie.AlertResolved:
			q.States = append(q.States, state)
		case "active":
			q.States = append(q.States, vigie.AlertFiring, vigie.AlertAcknowledged)
		case "":
		default:
			return nil, badRequest("state must be firing, acknowledged, resolved or active")
		}
		if st != "" {
			v.States = append(v.States, st)
		}
	}
	if l := qv.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 10000 {
			return nil, badRequest("limit must be a number from 1 to 10000")
		}
		q.Limit = n
	}
	alerts, err := s.o.Store.ListAlerts(r.Context(), q)
	if err != nil {
		return nil, err
	}
	for _, a := range alerts {
		v.Alerts = append(v.Alerts, toAPIAlert(a))
	}
	return v, nil
}

type alertView struct {
	Alert       apiAlert     `json:"alert"`
	Findings    []apiFinding `json:"findings"`
	MailActions bool         `json:"-"`
}

func (v alertView) title() string { return "Alert " + strconv.FormatInt(v.Alert.ID, 10) }

func (s *Server) alertData(r *http.Request) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	a, err := s.o.Store.Alert(r.Context(), id)
	if err != nil {
		return nil, err
	}
	fs, err := s.o.Store.ListFindings(r.Context(), store.FindingQuery{AlertID: id, Limit: findingsLimit})
	if err != nil {
		return nil, err
	}
	v := alertView{Alert: toAPIAlert(a), Findings: []apiFinding{}, MailActions: s.o.Mail != nil && s.offersHolds(a.Watch)}
	for _, f := range fs {
		v.Findings = append(v.Findings, toAPIFinding(f))
	}
	return v, nil
}

type watchView struct {
	Name     string       `json:"name"`
	Title    string       `json:"title"`
	Health   watchHealth  `json:"health"`
	Range    string       `json:"range"`
	Alerts   []apiAlert   `json:"active_alerts"`
	Findings []apiFinding `json:"recent_findings"`
	Graphs   []*Graph     `json:"graphs"`
	// Panels are the watch's own (its descriptor's), each a field of
	// the JSON object named by its Key.
	Panels []panelValue `json:"-"`
}

func (v watchView) title() string { return v.Title }

// MarshalJSON writes the page's fields, then each panel under its key.
func (v watchView) MarshalJSON() ([]byte, error) {
	type fields watchView
	b, err := json.Marshal(fields(v))
	if err != nil {
		return nil, err
	}
	return marshalPanels(b, v.Panels)
}

func (s *Server) watchData(r *http.Request) (any, error) {
	name := r.PathValue("name")
	rng, span, err := parseRange(r.URL.Query().Get("range"))
	if err != nil {
		return nil, err
	}
	if len(name) > 64 {
		return nil, badRequest("watch name too long")
	}
	ctx := r.Context()
	def := s.findWatch(name)
	v := watchView{Name: name, Title: def.Title, Range: rng, Alerts: []apiAlert{}, Findings: []apiFinding{}, Graphs: []*Graph{}}
	hs, err := s.health(ctx)
	if err != nil {
		return nil, err
	}
	v.Health = watchHealth{Name: name, Status: "not running"}
	for _, h := range hs {
		if h.Name == name {
			v.Health = h
		}
	}
	alerts, err := s.o.Store.ListAlerts(ctx, store.AlertQuery{Watch: name, States: []vigie.AlertState{vigie.AlertFiring, vigie.AlertAcknowledged}, Limit: listLimit})
	if err != nil {
		return nil, err
	}
	if def.AlsoShows != nil {
		// Alerts of other watches this one's page shows too (a listing is
		// one alert whichever watch raised it).
		if alerts, err = s.withAlso(ctx, alerts, def.AlsoShows); err != nil {
			return nil, err
		}
	}
	for _, a := range alerts {
		v.Alerts = append(v.Alerts, toAPIAlert(a))
	}
	fs, err := s.o.Store.ListFindings(ctx, store.FindingQuery{Watch: name, Limit: findingsLimit})
	if err != nil {
		return nil, err
	}
	for _, f := range fs {
		v.Findings = append(v.Findings, toAPIFinding(f))
	}
	busiest := busiestSubjects(alerts, perSubjectLines)
	for _, sd := range def.Series {
		subjects := sd.Subjects
		if subjects == nil {
			subjects = busiest
		}
		g, err := s.graph(ctx, sd, subjects, rng, span)
		if err != nil {
			return nil, err
		}
		if !g.Empty() {
			v.Graphs = append(v.Graphs, g)
		}
	}
	if v.Panels, err = s.panels(ctx, def, alerts); err != nil {
		return nil, err
	}
	return v, nil
}

// busiestSubjects are the distinct subjects of alerts, most findings first.
func busiestSubjects(alerts []vigie.Alert, n int) []string {
	sorted := append([]vigie.Alert(nil), alerts...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Count > sorted[j].Count })
	seen := map[string]bool{}
	out := []string{}
	for _, a := range sorted {
		if a.Subject == "" || seen[a.Subject] {
			continue
		}
		seen[a.Subject] = true
		out = append(out, a.Subject)
		if len(out) == n {
			break
		}
	}
	return out
}

type auditView struct {
	Actor   string     `json:"actor,omitempty"`
	Action  string     `json:"action,omitempty"`
	Entries []apiAudit `json:"entries"`
}

func (auditView) title() string { return "Audit log" }

func (s *Server) auditData(r *http.Request) (any, error) {
	q := store.AuditQuery{Actor: r.URL.Query().Get("actor"), Action: r.URL.Query().Get("action"), Limit: listLimit}
	es, err := s.o.Store.ListAudit(r.Context(), q)
	if err != nil {
		return nil, err
	}
	v := auditView{Actor: q.Actor, Action: q.Action, Entries: []apiAudit{}}
	for _, e := range es {
		v.Entries = append(v.Entries, apiAudit{Time: e.Time, Actor: e.Actor, Action: e.Action, Target: e.Target, Detail: e.Detail, Result: e.Result})
	}
	return v, nil
}

// seriesData serves GET /api/v1/series?series=mail_queue&subject=deferred&range=day
// (subject may repeat).
func (s *Server) seriesData(r *http.Request) (any, error) {
	q := r.URL.Query()
	name := q.Get("series")
	if name == "" {
		return nil, badRequest("series is required, e.g. ?series=mail_queue&subject=deferred&range=day")
	}
	rng, span, err := parseRange(q.Get("range"))
	if err != nil {
		return nil, err
	}
	subjects := q["subject"]
	if len(subjects) == 0 {
		subjects = []string{""}
	}
	if len(subjects) > maxLinesInGraph {
		return nil, badRequest("at most %d subjects", maxLinesInGraph)
	}
	return s.graph(r.Context(), watch.Series{Name: watch.SeriesName(name), Title: name}, subjects, rng, span)
}

// withAlso adds to a watch's active alerts the active alerts of other
// watches its descriptor's AlsoShows selects, newest first.
func (s *Server) withAlso(ctx context.Context, alerts []vigie.Alert, also func(*vigie.Alert) bool) ([]vigie.Alert, error) {
	all, err := s.o.Store.ListAlerts(ctx, store.AlertQuery{States: []vigie.AlertState{vigie.AlertFiring, vigie.AlertAcknowledged}, Limit: activeScanLimit})
	if err != nil {
		return nil, err
	}
	have := map[int64]bool{}
	for _, a := range alerts {
		have[a.ID] = true
	}
	for _, a := range all {
		if !have[a.ID] && also(&a) && len(alerts) < listLimit {
			alerts = append(alerts, a)
		}
	}
	sort.SliceStable(alerts, func(i, j int) bool { return alerts[i].LastSeen.After(alerts[j].LastSeen) })
	return alerts, nil
}

// withHeadlines converts incidents for a list, each with its headline.
func (s *Server) withHeadlines(ctx context.Context, ins []vigie.Incident) ([]apiIncident, error) {
	hs, err := incident.HeadlinesWith(ctx, s.o.Store, s.o.Watches, ins)
	if err != nil {
		return nil, err
	}
	out := make([]apiIncident, 0, len(ins))
	for _, in := range ins {
		a := toAPIIncident(in)
		a.Headline = hs[in.ID]
		out = append(out, a)
	}
	return out, nil
}
