package watch

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/doctor"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
)

// A Descriptor is everything the rest of vigie knows of one watch. Each
// watch package exports one (var Descriptor = watch.Descriptor{...}) and
// internal/watches lists them.
//
// Name, Title and Build are required. Every other field is optional: nil
// means "this watch has no such thing" (no series, no panel of its own, no
// part in the report's impact, no grouping rule beyond the alert key), and
// every reader handles nil. A hook is never a placeholder.
type Descriptor struct {
	Name  Name
	Title string // the dashboard's heading for it ("Certificate Transparency")

	// Build turns the config into the watches to run (usually one, none
	// when its section is off or auto finds nothing: it then logs why).
	Build Builder

	// Series are the time series the watch writes (store.AddSamples), in
	// the order its dashboard page draws them. The conformance suite
	// (watch/watchtest) checks that a short run writes each of them.
	Series []Series

	// Panels are the watch's own parts of its dashboard page, in order,
	// above the graphs, alerts and findings every watch page has.
	Panels []Panel

	// LearnLegitimate records an incident's alerts of this watch as
	// legitimate (the dashboard's "Resolve as legitimate"): the watch
	// learns them as habit. It returns the subjects it learned, none when
	// the incident holds nothing it learns from; nil: the watch learns
	// nothing that way.
	LearnLegitimate func(ctx context.Context, st store.Store, incidentID int64, actor string, now time.Time) ([]string, error)

	// AlsoShows selects active alerts of other watches that the watch's
	// dashboard page shows with its own (a listing is one alert whichever
	// watch raised it: the blocklist and mail pages both show it); nil:
	// its own alerts only.
	AlsoShows func(a *vigie.Alert) bool

	// HoldAccount is the mail account one of the watch's alerts is about,
	// for the dashboard's hold and release buttons ("": none for this
	// alert); nil: the watch's alerts offer no hold and release.
	HoldAccount func(subject string, evidence map[string]string) string

	// Report says how the watch's alerts read in an incident report and
	// its summary.
	Report *Report

	// Replay is the watch's log-based detectors for `vigie replay`, which
	// runs log files through them with the log's own timestamps as the
	// clock; nil: the watch reads no log `vigie replay` could give it.
	Replay func(cfg *config.Config, log *slog.Logger, emit func(vigie.Finding)) (LogSet, error)

	// Grouping is the watch's part in putting alerts into incidents
	// (alert.GroupKey); nil: a finding without a Group is its own group
	// (its alert key).
	Grouping *Grouping

	// Doctor says, for `vigie doctor`, what the watch would watch on this
	// machine with this configuration and why not the rest, each check
	// with its status (ok, off, warn, fail) and its fix, using the
	// watch's own discovery code (what Build would find); it changes
	// nothing. nil: vigie doctor says nothing of the watch.
	Doctor doctor.Func
}

// A LogSet is a watch's log-based detectors (Descriptor.Replay). It
// recognises its own lines, keeps the newest line time as its clock, and
// emits findings through the function it was built with.
type LogSet interface {
	Name() string
	// Line offers one line without its newline. ok is false when the line
	// is not one this set reads; at is the line's time (zero if it has
	// none).
	Line(line string) (at time.Time, ok bool)
	// Tick advances the set's clock without a line.
	Tick(now time.Time)
}

// SeriesName is the name of a time series (vigie.Sample.Series), owned by
// the watch that writes it.
type SeriesName string

// Series is one graph on the watch's dashboard page.
type Series struct {
	Name  SeriesName
	Title string
	Unit  string
	// Subjects are drawn as one line each. nil: the subjects of the
	// watch's active alerts (busiest first, a few), for per-account,
	// per-uid, per-page series. {""}: the series has one unnamed line.
	Subjects []string
	// Overview draws the series on the overview page too (the first one
	// marked, of the first watch that marks one).
	Overview bool
}

// RuleName is a rule's name (vigie.Finding.Rule), owned by its watch.
type RuleName string

// EvidenceKey is a key of vigie.Finding.Evidence that another part of
// vigie reads (a report, a panel, a grouping rule), owned by the watch
// that writes it. Keys only shown as they are need no constant.
type EvidenceKey string

// Of reads the key from an evidence map.
func (k EvidenceKey) Of(evidence map[string]string) string { return evidence[string(k)] }

// Panel is a watch's own part of its dashboard page.
type Panel struct {
	// Key names the panel's value in the page's JSON
	// (/api/v1/watches/<name>).
	Key string
	// Template is the html/template text that draws the panel; it runs
	// inside the dashboard's template set (its functions and parts) with
	// dot set to a PanelView. It must not produce trusted types
	// (template.HTML): everything in it comes from what attackers write.
	Template string
	// Data computes the panel's value; a nil value (or a nil Data): no
	// panel on this page.
	Data func(ctx context.Context, in PanelInput) (any, error)
}

// PanelInput is what a panel may read.
type PanelInput struct {
	Alerts []vigie.Alert // the watch's active alerts (the page's limit)
	// State reads the watch's own state space (store.GetState(Name, key)).
	State func(ctx context.Context, key string) ([]byte, error)
	Now   time.Time
	// Held lists the accounts whose mail is held or suspended; nil when
	// the dashboard cannot hold mail (no mail or policy watch runs).
	Held func(ctx context.Context) ([]string, error)
}

// PanelView is dot in a panel's Template.
type PanelView struct {
	Data any    // what Panel.Data returned
	CSRF string // the form token, for panels with buttons
	Path string // the page's path, to come back to
}

// Report says how a watch's alerts read in an incident report.
type Report struct {
	// Read says what one alert of this watch touched. findings lists the
	// alert's findings when the reading needs their evidence (counts).
	Read func(ctx context.Context, a *vigie.Alert, findings func(context.Context) ([]vigie.Finding, error)) (Reading, error)
	// Evidence are the evidence keys Read takes from the alert or its
	// findings; the conformance suite (watch/watchtest) checks that the
	// watch writes each of them.
	Evidence []EvidenceKey
	// Owns claims alerts another watch raised about this watch's matter
	// (a mail bounce that names a blocklist is read as a listing); nil:
	// the alerts whose Watch is the descriptor's Name.
	Owns func(a *vigie.Alert) bool
	// Downloads are the files an incident's page offers from this watch's
	// alerts (the DNS revert plan), at /incidents/{id}/<Name>.
	Downloads []Download
}

// Download is a file made from an incident's alerts, in one of a few
// formats, for the dashboard's incident page (and its API).
type Download struct {
	// Name is the last segment of its path and part of the file's name
	// ("revert-plan"); unique over the list (List.Check).
	Name string
	// Formats it can be written in; the first is the default.
	Formats []Format
	// Write writes incident incidentID's file in format (one of Formats),
	// read from the store's alerts. A store.ErrNotFound: no such incident.
	Write func(ctx context.Context, st store.Alerts, incidentID int64, format string, w io.Writer) error
}

// Format is one format of a Download: its ?format= value, which is also
// the file's extension, and its Content-Type.
type Format struct {
	Name, ContentType string
}

// Reading is what one alert touched, for the report's impact.
type Reading struct {
	Accounts     []Account
	Domains      []string // lower case, as the alert names them
	Sites        []string
	Certificates []Certificate
	Listings     []Listing
	// TTL is how long resolvers may keep serving what the alert is about
	// after it is repaired (extends the exposure window).
	TTL     time.Duration
	Reverts []Revert
	// What the incident's story by kind reads.
	Changes  []Change // DNS records moved away from the baseline
	Installs []Site   // web application installs
	Attacks  []Attack // exploitation requests
	Notes    []Note   // alerts no count above tells: a sentence each
}

// Note is one alert told in a sentence, for the incident's story where
// no count tells it: a broken DNSSEC chain (the domain, the DS at the
// parent, the DNSKEYs served), a registry lock removed, a domain about to
// expire. The story lists them under their Topic, in order.
type Note struct {
	AlertID  int64
	Topic    string // the story's heading for it, as a person reads it ("DNSSEC")
	Subject  string
	Text     string
	Severity vigie.Severity
	State    vigie.AlertState
}

// Account is a mail account or local uid and what it sent.
type Account struct {
	Name       string
	Messages   int64 // since its alert began, the tripping window included
	Recipients int64
	// The rest is read from the alert that detected it (the mail watch's
	// volume rule); zero for an account another watch only names (a
	// site's uid). Detected is zero then.
	//
	// After the finding that first detected it: exact, from the watch's
	// counts (its findings, the final one when the alert resolves).
	AfterMessages, AfterRecipients int64
	AfterKnown                     bool      // the watch reported them
	Detected                       time.Time // the alert's first finding
	LastSeen                       time.Time
	ResolvedAt                     time.Time
	Bounces                        int64 // in the hour before its latest finding
	Firing                         bool  // its alert is still active: counts still grow
	// Its habit and the limit its detection compared with, per minute.
	HabitPerMinute, LimitPerMinute float64
	// Series is its sending rate (per minute, one line per account);
	// RunningSeries the running count of what it sent after the
	// detection, written each minute while the alert fires (the report
	// reads its newest point: exact to the minute).
	Series, RunningSeries SeriesName
}

// Certificate is a certificate an alert is about.
type Certificate struct {
	Subject  string // what the watch calls it (serial, fingerprint)
	Names    string
	Issuer   string
	Seen     time.Time
	NotAfter string
	State    vigie.AlertState
	InWindow bool
}

// Listing is a blocklisting.
type Listing struct {
	Target, List string
	State        vigie.AlertState
	Since        time.Time
	AlertID      int64
	Name         string // the list's full name ("Microsoft (Outlook.com, ...)")
	RaisedBy     string // the watch that saw it: a DNSBL answer or a refusal
	DelistURL    string
	DelistSteps  []string
	Refusals     int64 // remote refusals that named the list
	LastSeen     time.Time
}

// Change is one DNS record of one domain that moved away from the
// baseline.
type Change struct {
	AlertID   int64
	Domain    string
	TLD       string // "fr.", the parent zone
	Kind      string // ns, ds, a, mx, spf...
	Expected  string
	Observed  string
	TTL       time.Duration // the largest TTL served with the change
	Server    string        // the server that answered it
	FirstSeen time.Time     // the sweep that first saw it
	LastSeen  time.Time
	State     vigie.AlertState
}

// Site is a web application install an alert is about.
type Site struct {
	Path       string
	App        string
	Version    string
	Status     string
	Latest     string
	Advisories string
	UID        string
	// Account is the incident account it runs as (the mail watch's
	// subject of its uid: what else that uid sent), "" when unknown.
	Account string
	Rules   []string
	State   vigie.AlertState
}

// Attack is one attacker's requests seen in a web access log.
type Attack struct {
	AlertID  int64
	IP       string
	Rule     string
	Target   string // the last request's URL (attacker's text)
	Install  string // the install it aimed at, when the watch knew it
	Version  string
	Requests int64 // the alert's findings: one per request or repeat
	First    time.Time
	Last     time.Time
}

// Revert is one line of a DNS revert plan.
type Revert struct {
	Domain   string
	Rule     string
	Observed string
	Expected string
	Done     bool // the alert is resolved: reverted or approved
}

// Grouping is a watch's part in alert grouping (see internal/alert's
// grouping rules). An explicit vigie.Finding.Group always wins.
type Grouping struct {
	// Key is the group of a finding that has no Group of its own ("":
	// its alert key): rules 2 and 3, AccountGroup and SiteGroup.
	Key func(f *vigie.Finding) string
	// Compromise marks a watch whose alerts are a compromise that a
	// blocklisting may follow (rule 4: the listing joins its incident).
	Compromise bool
	// FollowsCompromise marks a watch whose alerts join the newest
	// compromise incident within the blocklist window (rule 4).
	FollowsCompromise bool
	// Domains are the domains an alert is about. With IndexDomains the
	// pipeline remembers the incident of each (rule 5: a DNS drift); with
	// JoinsDomains an alert joins the live incident of one of them or of
	// a parent (rule 5: a certificate issued during a drift).
	Domains      func(a *vigie.Alert) []string
	IndexDomains bool
	JoinsDomains bool
}

// AccountGroup is the group key of one mail account: a SASL user name or
// "uid:N" (rule 2).
func AccountGroup(account string) string { return "account:" + account }

// SiteGroup is the group key of a web site without a known uid (rule 3).
func SiteGroup(site string) string { return "site:" + site }
