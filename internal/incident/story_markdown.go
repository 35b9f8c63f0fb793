package incident

import (
	"fmt"
	"strings"
)

// storyMarkdown writes the incident told by kind, after the summary.
func (r *Report) storyMarkdown(p func(string, ...any)) {
	st := r.Story
	if d := st.DNS; d != nil {
		p("## DNS changes\n\n")
		p("- Domains: %s in %s, %s\n", thousands(int64(d.Domains)), plural(len(d.TLDs), "TLD"), plural(d.Records, "changed record"))
		var tlds []string
		for i, c := range d.TLDs {
			if i == 12 {
				tlds = append(tlds, fmt.Sprintf("and %d more", len(d.TLDs)-12))
				break
			}
			tlds = append(tlds, fmt.Sprintf("%s %d", md(c.Name), c.N))
		}
		p("- By TLD: %s\n", strings.Join(tlds, ", "))
		p("- First change seen: %s; last new domain: %s (%s, %s)\n", stamp(d.FirstChange), stamp(d.LastChange),
			span(d.LastChange.Sub(d.FirstChange)), plural(len(d.Sweeps), "sweep"))
		if len(d.Servers) > 0 {
			p("- Seen at: %s\n", md(d.Servers[0].Name)+ifMore(len(d.Servers)))
		}
		p("- Exposure window: from %s, %s\n", stamp(d.ExposureStart), dnsWindowEnd(d))
		if d.MaxTTL > 0 {
			p("- TTLs of the changed records: %s to %s: resolvers may keep the bad answers that long after the revert\n", span(d.MinTTL), span(d.MaxTTL))
		}
		p("- Certificates issued in the window: %d\n", d.Certificates)
		p("- Reverted: %d of %d records\n\n", d.Reverted, d.Records)
		p("| Record | Now serves | Domains |\n|---|---|---:|\n")
		for i, v := range d.Values {
			if i == 20 {
				p("| … | %d more values | |\n", len(d.Values)-20)
				break
			}
			p("| %s | %s | %d |\n", md(v.Kind), md(v.Value), v.Domains)
		}
		p("\nRevert plan: `vigie dns revert-plan --incident %d --format csv` (or json), or the dashboard's download on the incident page.\n\n", r.Incident.ID)
	}
	for _, m := range st.Mail {
		p("## Mail sent by %s\n\n", md(m.Account))
		p("- First detection: %s\n", stamp(m.Detected))
		state := fmt.Sprintf("still counting, as of %s", stamp(r.GeneratedAt))
		if m.Final {
			state = "final: the alert resolved"
		}
		if m.AfterKnown {
			p("- Sent after the detection: %s messages to %s recipients (%s)\n", thousands(m.AfterMessages), thousands(m.AfterRecipients), state)
		}
		p("- Sent since the alert began (the window that tripped it included): %s messages to %s recipients, until %s\n",
			thousands(m.Messages), thousands(m.Recipients), stamp(m.LastSeen))
		p("- Bounces in the hour of the last finding: %d; remote refusals: %d\n", m.Bounces, m.Refusals)
		if len(m.Containment) == 0 {
			p("- Containment: none recorded\n\n")
		} else {
			p("- Containment:\n")
			for _, e := range m.Containment {
				p("  - %s %s: %s\n", stamp(e.Time), md(e.Actor), md(e.Text))
			}
			p("\n")
		}
	}
	for _, w := range st.Web {
		s := w.Site
		p("## Web site %s\n\n", md(s.Path))
		p("- Install: %s %s (%s", md(s.App), md(s.Version), md(s.Status))
		if s.Latest != "" {
			p(", latest %s", md(s.Latest))
		}
		p("), owner uid %s\n", md(s.UID))
		if s.Advisories != "" {
			p("- Advisories: %s\n", md(s.Advisories))
		}
		p("- Attack requests seen: %d from %s\n", w.Requests, plural(w.IPs, "IP"))
		for i, a := range w.Attacks {
			if i == 10 {
				p("  - and %d more\n", len(w.Attacks)-10)
				break
			}
			p("  - %s from %s: %d, %s to %s, last %s\n", md(a.Rule), md(a.IP), a.Requests, stamp(a.First), stamp(a.Last), md(clip(a.Target, 120)))
		}
		if w.Account != "" {
			p("- Mail its uid sent (%s): %s messages\n", md(w.Account), thousands(w.MailSent))
		}
		p("\n")
	}
	for _, g := range st.Notes {
		p("## %s\n\n", md(g.Topic))
		for _, n := range g.Notes {
			p("- %s (%s, %s)\n", md(n.Text), n.Severity, n.State)
		}
		p("\n")
	}
	if len(st.Listings) > 0 {
		p("## Blocklistings\n\n")
		for _, l := range st.Listings {
			name := l.List
			if l.Name != "" {
				name = l.Name
			}
			p("### %s on %s\n\n", md(l.Target), md(name))
			p("- Seen by the %s watch since %s (%s)", md(l.RaisedBy), stamp(l.Since), l.State)
			if l.Refusals > 0 {
				p("; %d remote refusals", l.Refusals)
			}
			p("\n")
			if l.DelistURL != "" {
				p("- Delisting: %s\n", md(l.DelistURL))
			}
			if len(l.DelistSteps) > 0 {
				p("- Steps:\n")
				for i, s := range l.DelistSteps {
					p("  %d. %s\n", i+1, md(s))
				}
			}
			p("\n")
		}
	}
}

func (r *Report) checklistMarkdown(p func(string, ...any)) {
	p("## Response checklist\n\n")
	for _, s := range r.Checklist {
		box := " "
		if s.Done {
			box = "x"
		}
		p("- [%s] %s", box, md(s.Text))
		if s.Done {
			p(" (done by %s at %s: %s)", md(s.By), stamp(s.At), md(s.How))
		}
		p("\n")
		if s.Command != "" {
			p("  - Command: %s\n", code(s.Command))
		}
		if s.Button != "" {
			p("  - Dashboard: the %q button on the incident page\n", s.Button)
		}
		if s.URL != "" {
			p("  - Where: %s\n", md(s.URL))
		}
		for i, d := range s.Details {
			p("  %d. %s\n", i+1, md(d))
		}
	}
	p("\n")
}

func ifMore(n int) string {
	if n > 1 {
		return fmt.Sprintf(" and %d more servers", n-1)
	}
	return ""
}

func dnsWindowEnd(d *DNSStory) string {
	if d.ExposureEnd.IsZero() {
		return "ongoing (not every record is back)"
	}
	return fmt.Sprintf("to %s (%s); cached answers until %s", stamp(d.ExposureEnd), span(d.ExposureEnd.Sub(d.ExposureStart)), stamp(d.CachedUntil))
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// code shows a command as a code span when it is plain (letters, digits
// and the punctuation of names and flags); a command naming an attacker's
// odd account name is escaped text instead, so nothing in it is markup.
func code(s string) string {
	for _, r := range s {
		plain := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(" @.:/=+-,'", r)
		if !plain {
			return md(s)
		}
	}
	return "`" + s + "`"
}
