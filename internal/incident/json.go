package incident

import (
	"encoding/json"
	"io"
	"time"

	"github.com/vigie/vigie/internal/vigie"
)

// The JSON form of a report: a contract kept apart from the domain types.
type jsonReport struct {
	Incident             jsonIncident `json:"incident"`
	GeneratedAt          time.Time    `json:"generated_at"`
	Summary              string       `json:"summary"`
	FirstSeen            time.Time    `json:"first_seen,omitzero"`
	LastSeen             time.Time    `json:"last_seen,omitzero"`
	Exposure             jsonExposure `json:"exposure"`
	Impact               jsonImpact   `json:"impact"`
	Alerts               []jsonAlert  `json:"alerts"`
	Timeline             []jsonEntry  `json:"timeline"`
	Actions              []jsonEntry  `json:"actions"`
	RevertPlan           []jsonRevert `json:"revert_plan,omitempty"`
	CertificatesInWindow []jsonCert   `json:"certificates_in_window,omitempty"`
	Todo                 []jsonTodo   `json:"todo"`
}

type jsonIncident struct {
	ID         int64     `json:"id"`
	Key        string    `json:"key"`
	Title      string    `json:"title"`
	Severity   string    `json:"severity"`
	State      string    `json:"state"`
	OpenedAt   time.Time `json:"opened_at"`
	AckedBy    string    `json:"acked_by,omitempty"`
	AckedAt    time.Time `json:"acked_at,omitzero"`
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
}

type jsonExposure struct {
	Start         time.Time `json:"start,omitzero"`
	End           time.Time `json:"end,omitzero"`
	Ongoing       bool      `json:"ongoing"`
	MaxTTLSeconds float64   `json:"max_ttl_seconds,omitempty"`
	CachedUntil   time.Time `json:"cached_until,omitzero"`
}

type jsonImpact struct {
	Accounts      []jsonAccount `json:"accounts"`
	Domains       []string      `json:"domains"`
	Sites         []string      `json:"sites"`
	Certificates  []jsonCert    `json:"certificates"`
	Blocklistings []jsonListing `json:"blocklistings"`
	Messages      int64         `json:"messages"`
	Recipients    int64         `json:"recipients"`
}

type jsonAccount struct {
	Name       string `json:"name"`
	Messages   int64  `json:"messages"`
	Recipients int64  `json:"recipients"`
}

type jsonCert struct {
	Subject  string    `json:"subject"`
	Names    string    `json:"names,omitempty"`
	Issuer   string    `json:"issuer,omitempty"`
	Issued   time.Time `json:"issued"`
	Checked  bool      `json:"checked"`
	InWindow bool      `json:"in_window"`
}

type jsonListing struct {
	Target string    `json:"target"`
	List   string    `json:"list"`
	Since  time.Time `json:"since"`
	State  string    `json:"state"`
}

type jsonAlert struct {
	ID        int64             `json:"id"`
	Key       string            `json:"key"`
	Watch     string            `json:"watch"`
	Rule      string            `json:"rule"`
	Subject   string            `json:"subject"`
	Severity  string            `json:"severity"`
	State     string            `json:"state"`
	Summary   string            `json:"summary"`
	Evidence  map[string]string `json:"evidence,omitempty"`
	FirstSeen time.Time         `json:"first_seen"`
	LastSeen  time.Time         `json:"last_seen"`
	Count     int64             `json:"count"`
}

type jsonEntry struct {
	Time    time.Time         `json:"time"`
	Kind    string            `json:"kind"`
	Actor   string            `json:"actor"`
	Text    string            `json:"text"`
	AlertID int64             `json:"alert_id,omitempty"`
	Data    map[string]string `json:"data,omitempty"`
}

type jsonRevert struct {
	Domain   string `json:"domain"`
	Record   string `json:"record"`
	Observed string `json:"observed"`
	Expected string `json:"expected"`
	Done     bool   `json:"done"`
}

type jsonTodo struct {
	Text string `json:"text"`
	Done bool   `json:"done"`
}

func entries(es []vigie.TimelineEntry) []jsonEntry {
	out := make([]jsonEntry, 0, len(es))
	for _, e := range es {
		out = append(out, jsonEntry{Time: e.Time, Kind: string(e.Kind), Actor: e.Actor, Text: e.Text, AlertID: e.AlertID, Data: e.Data})
	}
	return out
}

func certs(cs []Certificate) []jsonCert {
	out := make([]jsonCert, 0, len(cs))
	for _, c := range cs {
		out = append(out, jsonCert{Subject: c.Subject, Names: c.Names, Issuer: c.Issuer, Issued: c.Seen,
			Checked: c.State == vigie.AlertResolved, InWindow: c.InWindow})
	}
	return out
}

// JSON writes the report as indented JSON (<, > and & escaped, so the text
// is inert if a page shows it).
func (r *Report) JSON(w io.Writer) error {
	in := r.Incident
	out := jsonReport{
		Incident: jsonIncident{ID: in.ID, Key: in.Key, Title: in.Title, Severity: in.Severity.String(), State: string(in.State),
			OpenedAt: in.OpenedAt, AckedBy: in.AckedBy, AckedAt: in.AckedAt, ResolvedAt: in.ResolvedAt},
		GeneratedAt: r.GeneratedAt, Summary: r.Summary(), FirstSeen: r.FirstSeen, LastSeen: r.LastSeen,
		Exposure: jsonExposure{Start: r.Exposure.Start, End: r.Exposure.End, Ongoing: r.Exposure.Ongoing,
			MaxTTLSeconds: r.Exposure.MaxTTL.Seconds(), CachedUntil: r.Exposure.CachedUntil},
		Impact: jsonImpact{Domains: append([]string{}, r.Impact.Domains...), Sites: append([]string{}, r.Impact.Sites...),
			Certificates: certs(r.Impact.Certificates), Messages: r.Impact.Messages, Recipients: r.Impact.Recipients,
			Accounts: []jsonAccount{}, Blocklistings: []jsonListing{}},
		Alerts:   []jsonAlert{},
		Timeline: entries(r.Timeline), Actions: entries(r.Actions), Todo: []jsonTodo{},
	}
	for _, a := range r.Impact.Accounts {
		out.Impact.Accounts = append(out.Impact.Accounts, jsonAccount(a))
	}
	for _, l := range r.Impact.Blocklistings {
		out.Impact.Blocklistings = append(out.Impact.Blocklistings, jsonListing{Target: l.Target, List: l.List, Since: l.Since, State: string(l.State)})
	}
	for _, a := range r.Alerts {
		out.Alerts = append(out.Alerts, jsonAlert{ID: a.ID, Key: a.Key, Watch: a.Watch, Rule: a.Rule, Subject: a.Subject,
			Severity: a.Severity.String(), State: string(a.State), Summary: a.Summary, Evidence: a.Evidence,
			FirstSeen: a.FirstSeen, LastSeen: a.LastSeen, Count: a.Count})
	}
	for _, rv := range r.RevertPlan {
		out.RevertPlan = append(out.RevertPlan, jsonRevert{Domain: rv.Domain, Record: rv.Rule, Observed: rv.Observed, Expected: rv.Expected, Done: rv.Done})
	}
	if len(r.CertificatesInWindow) > 0 {
		out.CertificatesInWindow = certs(r.CertificatesInWindow)
	}
	for _, t := range r.Todo {
		out.Todo = append(out.Todo, jsonTodo(t))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
