// Package notifytest holds what the notifier tests share: messages full of
// hostile text, as an attacker controls subjects, summaries and evidence.
package notifytest

import (
	"fmt"
	"time"

	"github.com/vigie/vigie/internal/dnswatch"
	"github.com/vigie/vigie/internal/mail"
	"github.com/vigie/vigie/internal/notify"
	"github.com/vigie/vigie/internal/vigie"
)

// T0 is the time of the test messages.
var T0 = time.Date(2024, 9, 29, 13, 57, 0, 0, time.UTC)

// Hostile is a subject that tries every format at once: HTML, Markdown,
// JSON, header and line injection, Slack mentions, a Matrix ping.
const Hostile = "<script>alert(1)</script>\"}]\r\nBcc: victim@example.org\n*bold* [x](javascript:alert(1)) <!channel> @room é"

// Message is one critical alert fired in incident 7, with hostile text.
func Message() *notify.Message {
	in := vigie.Incident{ID: 7, Key: "account:" + Hostile, Title: "account " + Hostile + " sends too much",
		Severity: vigie.SeverityCritical, State: vigie.IncidentOpen, OpenedAt: T0}
	a := vigie.Alert{ID: 42, Key: string(mail.Name) + "/" + string(mail.RuleAccountVolume) + "/" + Hostile, Group: in.Key,
		Watch: string(mail.Name), Rule: string(mail.RuleAccountVolume),
		Subject: Hostile, Severity: vigie.SeverityCritical, State: vigie.AlertFiring, Summary: Hostile + " sent 600 messages in 10 min",
		Evidence: map[string]string{mail.EvidenceMessages: "600", "helo": Hostile}, FirstSeen: T0, LastSeen: T0.Add(time.Minute), Count: 3,
		ResolveAfter: time.Hour, IncidentID: 7, Node: "mx1"}
	return &notify.Message{ID: "abc-1", Time: T0.Add(2 * time.Minute),
		Notifications: []notify.Notification{{Change: notify.Fired, Alert: a, Incident: in, Brief: Brief(), Time: T0.Add(time.Minute)}}}
}

// URL is the dashboard link of Message's incident.
const URL = "https://vigie.example.org/incidents/7"

// Brief is Message's incident told to a person (internal/incident writes
// it in the daemon), hostile text included.
func Brief() *notify.Brief {
	return &notify.Brief{Headline: Hostile + " sent 600 messages in 10 min", Did: "held 412 messages of " + Hostile,
		Next: "Suspend " + Hostile + " (its new mail is held): vigie mail suspend x", URL: URL}
}

// Storm is n DNS drifts of one incident fired at once, as in the 751
// hijacked domains.
func Storm(n int) *notify.Message {
	in := vigie.Incident{ID: 3, Key: "ns=ns1.rogue.example,ns2.rogue.example", Title: "NS changed to a rogue set",
		Severity: vigie.SeverityCritical, State: vigie.IncidentOpen, OpenedAt: T0}
	m := &notify.Message{ID: "storm-1", Time: T0}
	for i := 0; i < n; i++ {
		d := fmt.Sprintf("domain%d.fr", i)
		a := vigie.Alert{ID: int64(i + 1), Key: dnswatch.DriftKey(d, "ns"), Group: in.Key, Watch: string(dnswatch.Name), Rule: string(dnswatch.RuleDrift), Subject: d,
			Severity: vigie.SeverityCritical, State: vigie.AlertFiring, Summary: d + " NS changed", FirstSeen: T0, LastSeen: T0,
			Count: 1, IncidentID: 3}
		m.Notifications = append(m.Notifications, notify.Notification{Change: notify.Fired, Alert: a, Incident: in, Time: T0})
	}
	return m
}
