package ui

// The series and evidence names the pages read. Watches write samples with
// store.AddSamples(vigie.Sample{Series, Subject, Time, Value}); a page
// draws a series when it has points in the selected range. Watch-specific
// panels (templates/_panels.html) read the evidence keys listed here;
// every other evidence key is shown as is in the findings table.

import (
	"github.com/vigie/vigie/internal/dnswatch"
	"github.com/vigie/vigie/internal/mail"
	"github.com/vigie/vigie/internal/webapps"
)

// seriesDef is one graph on a watch page.
type seriesDef struct {
	Series string
	Title  string
	Unit   string
	// Subjects are drawn as one line each. Empty: the subjects of the
	// watch's active alerts (busiest first, at most perSubjectLines), for
	// per-account, per-uid, per-page series.
	Subjects []string
}

const perSubjectLines = 5

type watchDef struct {
	Name   string
	Title  string
	Series []seriesDef
}

// queueSeries is the mail queue graph of the overview and the mail page,
// as the mail watch stores it: one subject per queue (from postqueue -j;
// "total" and "deferred" also from the log), value = messages in it.
var queueSeries = seriesDef{Series: mail.SeriesQueue, Title: "Mail queue", Unit: "messages",
	Subjects: []string{"total", "deferred", "active", "hold", "incoming"}}

var watchDefs = []watchDef{
	{Name: "mail", Title: "Mail", Series: []seriesDef{
		queueSeries,
		// Per account: the SASL login or "uid:N", as in the alert subject.
		{Series: mail.SeriesAccountMessages, Title: "Messages sent per account or local uid", Unit: "per min"},
		{Series: mail.SeriesAccountRecipients, Title: "Recipients per account or local uid", Unit: "per min"},
	}},
	{Name: "policy", Title: "Policy", Series: []seriesDef{
		{Series: "policy_decisions", Title: "Policy decisions", Unit: "per min", Subjects: []string{"dunno", "defer", "hold", "reject"}},
	}},
	{Name: "dns", Title: "DNS", Series: []seriesDef{
		{Series: dnswatch.SeriesDriftDomains, Title: "Open drifts (domain and kind) after each sweep", Unit: "drifts", Subjects: []string{""}},
		{Series: dnswatch.SeriesSweepSeconds, Title: "Sweep duration", Unit: "s", Subjects: []string{"delegation", "records"}},
	}},
	{Name: "ct", Title: "Certificate Transparency", Series: []seriesDef{
		{Series: "ct_matches", Title: "Certificates matching the watchlist", Unit: "per hour", Subjects: []string{""}},
		{Series: "ct_log_behind", Title: "Entries behind, per log", Unit: "entries"},
	}},
	{Name: "web", Title: "Web", Series: []seriesDef{
		{Series: webapps.SeriesInstalls, Title: "Installs by status", Unit: "installs", Subjects: []string{"vulnerable", "end-of-life", "abandoned", "outdated", "current"}},
		// Per page (subject = the alert subject, host + path).
		{Series: "web_requests", Title: "Requests to flagged pages", Unit: "per min"},
	}},
	{Name: "blocklist", Title: "Blocklists", Series: []seriesDef{
		{Series: "blocklist_listed", Title: "Listings", Unit: "listings", Subjects: []string{""}},
	}},
}

func knownWatchNames() []string {
	out := make([]string, len(watchDefs))
	for i, d := range watchDefs {
		out[i] = d.Name
	}
	return out
}

func findWatchDef(name string) watchDef {
	for _, d := range watchDefs {
		if d.Name == name {
			return d
		}
	}
	return watchDef{Name: name, Title: name}
}
