package incident

import (
	"strconv"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/blocklist"
	"github.com/vigie/vigie/internal/mail"
	"github.com/vigie/vigie/internal/vigie"
)

// How each watch's alerts read in a summary. Each reader takes one alert
// and returns the typed facts the kind summaries are computed from; the
// evidence keys are the owning watch's constants where it exports them.
// These readers are the part that moves into each watch's descriptor
// (internal/watch Report.Read) once every watch exports its keys.

// Evidence keys of the DNS watch's drift findings (dnswatch/report.go).
const (
	evDNSKind     = "kind"
	evDNSExpected = "expected"
	evDNSObserved = "observed"
	evDNSTLD      = "tld"
	evDNSTTL      = "ttl"
	evDNSMaxTTL   = "max_ttl"
	evDNSServer   = "server"
	dnsRuleDrift  = "drift"
)

// Evidence keys of the web watch (webapps/findings.go, accesslog_detect.go).
const (
	evWebApp        = "app"
	evWebVersion    = "version"
	evWebStatus     = "status"
	evWebLatest     = "latest"
	evWebAdvisories = "advisories"
	evWebUID        = "uid"
	evWebPath       = "path"
	evWebIP         = "ip"
	evWebTarget     = "target"
	evWebInstall    = "install"
	evWebInstallVer = "install_version"
	evWebVHost      = "vhost"
)

// Change is one DNS record of one domain that moved away from the
// baseline.
type Change struct {
	AlertID   int64
	Domain    string
	TLD       string // "fr.", as the DNS watch names the parent zone
	Kind      string // ns, ds, a, mx, spf...
	Expected  string
	Observed  string
	TTL       time.Duration // the largest TTL served with the change
	Server    string        // the server that answered it
	FirstSeen time.Time     // the sweep that first saw it
	LastSeen  time.Time
	State     vigie.AlertState
}

func readChange(a *vigie.Alert) (Change, bool) {
	ev := a.Evidence
	if a.Rule != dnsRuleDrift || ev[evDNSKind] == "" {
		return Change{}, false
	}
	c := Change{AlertID: a.ID, Domain: strings.ToLower(a.Subject), TLD: ev[evDNSTLD], Kind: ev[evDNSKind], Expected: ev[evDNSExpected],
		Observed: ev[evDNSObserved], Server: ev[evDNSServer], FirstSeen: a.FirstSeen, LastSeen: a.LastSeen, State: a.State}
	if d, ok := ttl(ev[evDNSMaxTTL]); ok {
		c.TTL = d
	}
	if d, ok := ttl(ev[evDNSTTL]); ok && d > c.TTL {
		c.TTL = d
	}
	if c.TLD == "" {
		c.TLD = tldOf(c.Domain)
	}
	return c, true
}

// tldOf is the last label of a domain, with the trailing dot: "fr.".
func tldOf(domain string) string {
	d := strings.TrimSuffix(domain, ".")
	if i := strings.LastIndexByte(d, '.'); i >= 0 {
		return d[i+1:] + "."
	}
	return d + "."
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
	Rules      []string
	State      vigie.AlertState
}

func readSite(a *vigie.Alert) (Site, bool) {
	ev := a.Evidence
	if ev[evWebPath] == "" || ev[evWebApp] == "" {
		return Site{}, false
	}
	return Site{Path: ev[evWebPath], App: ev[evWebApp], Version: ev[evWebVersion], Status: ev[evWebStatus], Latest: ev[evWebLatest],
		Advisories: ev[evWebAdvisories], UID: ev[evWebUID], Rules: []string{a.Rule}, State: a.State}, true
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

func readAttack(a *vigie.Alert) (Attack, bool) {
	ev := a.Evidence
	if ev[evWebIP] == "" {
		return Attack{}, false
	}
	return Attack{AlertID: a.ID, IP: ev[evWebIP], Rule: a.Rule, Target: ev[evWebTarget], Install: ev[evWebInstall], Version: ev[evWebInstallVer],
		Requests: a.Count, First: a.FirstSeen, Last: a.LastSeen}, true
}

// readListingDetail adds what a listing's alert says about getting off the
// list, whichever watch raised it (the blocklist watch's DNSBL answer or
// the mail watch's remote refusal carry the same keys).
func readListingDetail(l *Listing, a *vigie.Alert) {
	ev := a.Evidence
	l.AlertID = a.ID
	l.RaisedBy = a.Watch
	l.Name = ev[blocklist.EvidenceListName]
	l.DelistURL = ev[blocklist.EvidenceDelistURL]
	for _, s := range strings.Split(ev[blocklist.EvidenceDelistSteps], "\n") {
		s = strings.TrimSpace(s)
		// "1. Fill in the form": the number is the list's order, kept by ours.
		if i := strings.Index(s, ". "); i > 0 && allDigits(s[:i]) {
			s = s[i+2:]
		}
		if s != "" {
			l.DelistSteps = append(l.DelistSteps, s)
		}
	}
	l.Refusals = number(ev[mail.EvidenceRefusals])
	l.LastSeen = a.LastSeen
}

// mailCounts are what an account-volume finding says the subject sent.
type mailCounts struct {
	messages, recipients           int64 // since the alert began
	afterMessages, afterRecipients int64 // after the first detection
	bounces                        int64 // in the last hour, at the finding
	known                          bool  // the finding has the after-detection counts
	// The limit and habit the finding compared with, per minute (a
	// limit over an hour or a day divided down); zero when not said.
	limitPerMinute, habitPerMinute float64
}

func readMailCounts(ev map[string]string) mailCounts {
	_, known := ev[mail.EvidenceMessagesAfterDetection]
	return mailCounts{messages: number(ev[mail.EvidenceMessages]), recipients: number(ev[mail.EvidenceRecipients]),
		afterMessages: number(ev[mail.EvidenceMessagesAfterDetection]), afterRecipients: number(ev[mail.EvidenceRecipientsAfterDetection]),
		bounces: number(ev[mail.EvidenceBouncesHour]), known: known,
		limitPerMinute: perMinute(ev[mail.EvidenceLimit], ev[mail.EvidenceWindow]),
		habitPerMinute: perMinute(ev[mail.EvidenceHabit], ev[mail.EvidenceWindow])}
}

// perMinute is a count over the named window ("minute", "hour", "pace",
// "day") as a rate per minute.
func perMinute(n, window string) float64 {
	// "pace": messages in the last hour against the busiest day, at a
	// steady pace (the mail watch's slow-attack rule): an hourly limit.
	per := map[string]float64{"minute": 1, "hour": 60, "pace": 60, "day": 1440}[window]
	if per == 0 {
		return 0
	}
	return float64(number(n)) / per
}

func isAccountVolume(a *vigie.Alert) bool {
	return a.Watch == mail.WatchName && a.Rule == mail.RuleAccountVolume
}

// uidAccount is the mail subject of a local uid ("uid:1004").
func uidAccount(uid string) string {
	n, err := strconv.Atoi(uid)
	if err != nil || n < 0 {
		return ""
	}
	return mail.UIDSubject(n)
}
