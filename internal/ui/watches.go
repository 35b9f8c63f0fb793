package ui

// The series and evidence names the pages read. Watches write samples with
// store.AddSamples(vigie.Sample{Series, Subject, Time, Value}); a page
// draws a series when it has points in the selected range. Watch-specific
// panels (templates/_panels.html) read the evidence keys listed here;
// every other evidence key is shown as is in the findings table.

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

// queueSeries is the mail queue graph of the overview and the mail page:
// series "mail_queue", one subject per queue (active, deferred, hold,
// incoming, maildrop), value = messages in it.
var queueSeries = seriesDef{Series: "mail_queue", Title: "Mail queue", Unit: "messages",
	Subjects: []string{"active", "deferred", "hold", "incoming", "maildrop"}}

var watchDefs = []watchDef{
	{Name: "mail", Title: "Mail", Series: []seriesDef{
		queueSeries,
		// Per account (subject = the SASL login, as in the alert subject).
		{Series: "mail_account_sent", Title: "Mail sent per account", Unit: "mails/min"},
		// Per local uid (subject = the uid or user name of the alert).
		{Series: "mail_uid_sent", Title: "Mail sent per local uid", Unit: "mails/min"},
		{Series: "mail_bounced", Title: "Bounces and deferrals", Unit: "per min", Subjects: []string{"bounced", "deferred", "blocklisted"}},
	}},
	{Name: "policy", Title: "Policy", Series: []seriesDef{
		{Series: "policy_decisions", Title: "Policy decisions", Unit: "per min", Subjects: []string{"dunno", "defer", "hold", "reject"}},
	}},
	{Name: "dns", Title: "DNS", Series: []seriesDef{
		{Series: "dns_drift_domains", Title: "Domains drifted from their baseline", Unit: "domains", Subjects: []string{""}},
		{Series: "dns_sweep_seconds", Title: "Sweep duration", Unit: "s", Subjects: []string{"delegation", "records"}},
	}},
	{Name: "ct", Title: "Certificate Transparency", Series: []seriesDef{
		{Series: "ct_matches", Title: "Certificates matching the watchlist", Unit: "per hour", Subjects: []string{""}},
		{Series: "ct_log_behind", Title: "Entries behind, per log", Unit: "entries"},
	}},
	{Name: "web", Title: "Web", Series: []seriesDef{
		{Series: "web_installs", Title: "Installs by status", Unit: "installs", Subjects: []string{"current", "outdated", "vulnerable", "eol", "abandoned"}},
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
