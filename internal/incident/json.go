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
	Headline             string       `json:"headline"`
	Story                jsonStory    `json:"story"`
	Checklist            []jsonStep   `json:"checklist"`
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
	Target      string    `json:"target"`
	List        string    `json:"list"`
	Since       time.Time `json:"since"`
	State       string    `json:"state"`
	Name        string    `json:"name,omitempty"`
	RaisedBy    string    `json:"raised_by,omitempty"`
	DelistURL   string    `json:"delist_url,omitempty"`
	DelistSteps []string  `json:"delist_steps,omitempty"`
	Refusals    int64     `json:"remote_refusals,omitempty"`
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

type jsonStep struct {
	Text    string    `json:"text"`
	Details []string  `json:"details,omitempty"`
	URL     string    `json:"url,omitempty"`
	Command string    `json:"command,omitempty"`
	Button  string    `json:"button,omitempty"`
	Done    bool      `json:"done"`
	By      string    `json:"by,omitempty"`
	At      time.Time `json:"at,omitzero"`
	How     string    `json:"how,omitempty"`
}

type jsonStory struct {
	DNS      *jsonDNS      `json:"dns,omitempty"`
	Mail     []jsonMail    `json:"mail,omitempty"`
	Web      []jsonWeb     `json:"web,omitempty"`
	Listings []jsonListing `json:"listings,omitempty"`
	Notes    []jsonNotes   `json:"notes,omitempty"`
}

type jsonNotes struct {
	Topic string     `json:"topic"`
	Notes []jsonNote `json:"notes"`
}

type jsonNote struct {
	AlertID  int64  `json:"alert_id"`
	Subject  string `json:"subject"`
	Text     string `json:"text"`
	Severity string `json:"severity"`
	State    string `json:"state"`
}

type jsonCount struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

type jsonDNS struct {
	Domains       int         `json:"domains"`
	Records       int         `json:"records"`
	TLDs          []jsonCount `json:"tlds"`
	Values        []jsonValue `json:"new_values"`
	Kinds         []jsonCount `json:"kinds"`
	FirstChange   time.Time   `json:"first_change"`
	LastChange    time.Time   `json:"last_change"`
	Sweeps        []jsonCount `json:"sweeps"`
	MinTTLSeconds float64     `json:"min_ttl_seconds"`
	MaxTTLSeconds float64     `json:"max_ttl_seconds"`
	ExposureStart time.Time   `json:"exposure_start"`
	ExposureEnd   time.Time   `json:"exposure_end,omitzero"`
	CachedUntil   time.Time   `json:"cached_until,omitzero"`
	Reverted      int         `json:"reverted"`
	Certificates  int         `json:"certificates_in_window"`
	Servers       []jsonCount `json:"servers,omitempty"`
}

type jsonValue struct {
	Kind    string `json:"kind"`
	Value   string `json:"value"`
	Domains int    `json:"domains"`
}

type jsonMail struct {
	Account         string      `json:"account"`
	Detected        time.Time   `json:"detected"`
	LastSeen        time.Time   `json:"last_seen"`
	AfterMessages   int64       `json:"messages_after_detection"`
	AfterRecipients int64       `json:"recipients_after_detection"`
	Messages        int64       `json:"messages_since_alert"`
	Recipients      int64       `json:"recipients_since_alert"`
	Bounces         int64       `json:"bounces_hour"`
	Final           bool        `json:"final"`
	Refusals        int64       `json:"remote_refusals"`
	Containment     []jsonEntry `json:"containment"`
}

type jsonWeb struct {
	Path       string       `json:"path"`
	App        string       `json:"app"`
	Version    string       `json:"version"`
	Status     string       `json:"status,omitempty"`
	Latest     string       `json:"latest,omitempty"`
	Advisories string       `json:"advisories,omitempty"`
	UID        string       `json:"uid,omitempty"`
	Requests   int64        `json:"attack_requests"`
	IPs        int          `json:"attack_ips"`
	Attacks    []jsonAttack `json:"attacks"`
	Account    string       `json:"mail_account,omitempty"`
	MailSent   int64        `json:"mail_sent"`
}

type jsonAttack struct {
	IP       string    `json:"ip"`
	Rule     string    `json:"rule"`
	Target   string    `json:"target"`
	Requests int64     `json:"requests"`
	First    time.Time `json:"first"`
	Last     time.Time `json:"last"`
}

func counts2json(cs []Count) []jsonCount {
	out := make([]jsonCount, 0, len(cs))
	for _, c := range cs {
		out = append(out, jsonCount(c))
	}
	return out
}

func listing2json(l Listing) jsonListing {
	return jsonListing{Target: l.Target, List: l.List, Since: l.Since, State: string(l.State), Name: l.Name, RaisedBy: l.RaisedBy,
		DelistURL: l.DelistURL, DelistSteps: l.DelistSteps, Refusals: l.Refusals}
}

func (st Story) json() jsonStory {
	var out jsonStory
	if d := st.DNS; d != nil {
		j := &jsonDNS{Domains: d.Domains, Records: d.Records, TLDs: counts2json(d.TLDs), Kinds: counts2json(d.Kinds), FirstChange: d.FirstChange,
			LastChange: d.LastChange, Sweeps: counts2json(d.Sweeps), MinTTLSeconds: d.MinTTL.Seconds(), MaxTTLSeconds: d.MaxTTL.Seconds(),
			ExposureStart: d.ExposureStart, ExposureEnd: d.ExposureEnd, CachedUntil: d.CachedUntil, Reverted: d.Reverted,
			Certificates: d.Certificates, Servers: counts2json(d.Servers), Values: []jsonValue{}}
		for _, v := range d.Values {
			j.Values = append(j.Values, jsonValue(v))
		}
		out.DNS = j
	}
	for _, m := range st.Mail {
		out.Mail = append(out.Mail, jsonMail{Account: m.Account, Detected: m.Detected, LastSeen: m.LastSeen, AfterMessages: m.AfterMessages,
			AfterRecipients: m.AfterRecipients, Messages: m.Messages, Recipients: m.Recipients, Bounces: m.Bounces, Final: m.Final,
			Refusals: m.Refusals, Containment: entries(m.Containment)})
	}
	for _, w := range st.Web {
		j := jsonWeb{Path: w.Site.Path, App: w.Site.App, Version: w.Site.Version, Status: w.Site.Status, Latest: w.Site.Latest,
			Advisories: w.Site.Advisories, UID: w.Site.UID, Requests: w.Requests, IPs: w.IPs, Account: w.Account, MailSent: w.MailSent,
			Attacks: []jsonAttack{}}
		for _, a := range w.Attacks {
			j.Attacks = append(j.Attacks, jsonAttack{IP: a.IP, Rule: a.Rule, Target: a.Target, Requests: a.Requests, First: a.First, Last: a.Last})
		}
		out.Web = append(out.Web, j)
	}
	for _, l := range st.Listings {
		out.Listings = append(out.Listings, listing2json(l))
	}
	for _, g := range st.Notes {
		j := jsonNotes{Topic: g.Topic}
		for _, n := range g.Notes {
			j.Notes = append(j.Notes, jsonNote{AlertID: n.AlertID, Subject: n.Subject, Text: n.Text, Severity: n.Severity.String(), State: string(n.State)})
		}
		out.Notes = append(out.Notes, j)
	}
	return out
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
		Timeline: entries(r.Timeline), Actions: entries(r.Actions), Checklist: []jsonStep{},
		Headline: r.Story.Headline, Story: r.Story.json(),
	}
	for _, a := range r.Impact.Accounts {
		out.Impact.Accounts = append(out.Impact.Accounts, jsonAccount{Name: a.Name, Messages: a.Messages, Recipients: a.Recipients})
	}
	for _, l := range r.Impact.Blocklistings {
		out.Impact.Blocklistings = append(out.Impact.Blocklistings, listing2json(l))
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
	for _, st := range r.Checklist {
		out.Checklist = append(out.Checklist, jsonStep(st))
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// StoryJSON is the story in the report's JSON form (the dashboard's API).
func (r *Report) StoryJSON() any { return r.Story.json() }

// ChecklistJSON is the checklist in the report's JSON form.
func (r *Report) ChecklistJSON() any {
	out := make([]jsonStep, 0, len(r.Checklist))
	for _, st := range r.Checklist {
		out = append(out, jsonStep(st))
	}
	return out
}
