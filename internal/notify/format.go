package notify

import (
	"fmt"
	"html"
	"strings"
	"time"
	"unicode"
)

// MaxItems is how many alert changes of one incident a message lists; the
// rest are counted ("and 731 more"), so a storm stays one readable message.
const MaxItems = 20

// OneLine makes hostile text safe for a one-line field: control characters
// (newlines included) become spaces, and it is cut at max runes (0: no cut).
func OneLine(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	if max > 0 {
		if r := []rune(s); len(r) > max {
			s = string(r[:max-1]) + "…"
		}
	}
	return s
}

// Title is a one-line subject for the whole message.
func Title(m *Message) string {
	groups := m.Groups()
	if len(groups) == 1 && groups[0].Brief != nil && groups[0].Incident.ID != 0 {
		// One incident: its number and what happened is the subject line.
		g := groups[0]
		s := fmt.Sprintf("vigie [%s] incident #%d: %s", m.MaxSeverity(), g.Incident.ID, g.Brief.Headline)
		if m.AllResolved() {
			s += " (resolved)"
		}
		return OneLine(s, 200)
	}
	if len(m.Notifications) == 1 {
		n := m.Notifications[0]
		return OneLine(fmt.Sprintf("vigie [%s] %s: %s", n.Alert.Severity, n.Change, alertLabel(n)), 200)
	}
	if len(groups) == 1 && groups[0].Incident.ID != 0 {
		in := groups[0].Incident
		return OneLine(fmt.Sprintf("vigie [%s] incident #%d: %d alert changes: %s", m.MaxSeverity(), in.ID,
			len(m.Notifications), in.Title), 200)
	}
	return fmt.Sprintf("vigie [%s] %d alert changes in %d incidents", m.MaxSeverity(), len(m.Notifications), len(groups))
}

func alertLabel(n Notification) string {
	a := n.Alert
	s := fmt.Sprintf("%s/%s %s", a.Watch, a.Rule, a.Subject)
	if a.Summary != "" {
		s += ": " + a.Summary
	}
	return s
}

// IncidentHeading is the heading line of one incident's part: its number,
// state and what happened.
func IncidentHeading(g IncidentGroup) string {
	in := g.Incident
	if in.ID == 0 {
		return "Alerts without an incident"
	}
	what := in.Title
	if g.Brief != nil && g.Brief.Headline != "" {
		what = g.Brief.Headline
	}
	return OneLine(fmt.Sprintf("Incident #%d (%s, %s): %s", in.ID, in.State, in.Severity, what), 300)
}

// BriefLines are the lines under an incident's heading: what vigie did,
// the next step and the dashboard link; none without a brief.
func BriefLines(g IncidentGroup) []string {
	b := g.Brief
	if b == nil || g.Incident.ID == 0 {
		return nil
	}
	var out []string
	if b.Did != "" {
		out = append(out, OneLine("vigie did: "+b.Did, 500))
	}
	if b.Next != "" {
		out = append(out, OneLine("Next step: "+b.Next, 500))
	}
	if b.URL != "" {
		out = append(out, OneLine("Dashboard: "+b.URL, 500))
	}
	return out
}

// ItemLine is one alert change, on one line.
func ItemLine(n Notification) string {
	a := n.Alert
	line := fmt.Sprintf("%s [%s] %s %s", n.Time.UTC().Format(time.DateTime), a.Severity, n.Change, alertLabel(n))
	if a.Count > 1 {
		line += fmt.Sprintf(" (%d findings since %s)", a.Count, a.FirstSeen.UTC().Format(time.DateTime))
	}
	return OneLine(line, 500)
}

// Items returns the lines to show for a group and how many were left out.
func Items(g IncidentGroup) (lines []string, more int) {
	for i, n := range g.Notifications {
		if i == MaxItems {
			return lines, len(g.Notifications) - MaxItems
		}
		lines = append(lines, ItemLine(n))
	}
	return lines, 0
}

// Text renders the message as plain text.
func Text(m *Message) string {
	var b strings.Builder
	for i, g := range m.Groups() {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(IncidentHeading(g))
		b.WriteString("\n")
		for _, l := range BriefLines(g) {
			b.WriteString(l)
			b.WriteString("\n")
		}
		lines, more := Items(g)
		if len(lines) > 0 && g.Brief != nil {
			b.WriteString("Changes:\n")
		}
		for _, l := range lines {
			b.WriteString("- ")
			b.WriteString(l)
			b.WriteString("\n")
		}
		if more > 0 {
			fmt.Fprintf(&b, "- and %d more alert changes\n", more)
		}
	}
	return b.String()
}

// HTML renders the message as an HTML fragment (Matrix formatted_body,
// e-mail): every piece of text is escaped, only vigie's own tags remain.
func HTML(m *Message) string {
	var b strings.Builder
	for _, g := range m.Groups() {
		b.WriteString("<p><strong>")
		b.WriteString(html.EscapeString(IncidentHeading(g)))
		b.WriteString("</strong></p>")
		for _, l := range BriefLines(g) {
			b.WriteString("<p>")
			b.WriteString(html.EscapeString(l))
			b.WriteString("</p>")
		}
		b.WriteString("<ul>")
		lines, more := Items(g)
		for _, l := range lines {
			b.WriteString("<li>")
			b.WriteString(html.EscapeString(l))
			b.WriteString("</li>")
		}
		if more > 0 {
			fmt.Fprintf(&b, "<li>and %d more alert changes</li>", more)
		}
		b.WriteString("</ul>")
	}
	return b.String()
}
