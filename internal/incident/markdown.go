package incident

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/vigie/vigie/internal/notify"
	"github.com/vigie/vigie/internal/vigie"
)

// md makes hostile text inert in Markdown: one line (no new block can
// start), every character that could open emphasis, code, a link or an
// image, an HTML tag, an entity, a heading or a table cell
// backslash-escaped (CommonMark allows escaping any ASCII punctuation),
// and a leading list marker ("- ", "+ ", "1. ") escaped.
func md(s string) string {
	s = notify.OneLine(s, 0)
	var b strings.Builder
	for i, r := range s {
		marker := (i == 0 && (r == '-' || r == '+')) || ((r == '.' || r == ')') && allDigits(s[:i]))
		if marker && (i+1 == len(s) || s[i+1] == ' ') || strings.ContainsRune("\\`*_[]<>|~#&", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func oneLine(s string) string { return notify.OneLine(s, 0) }

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// Markdown writes the report as Markdown.
func (r *Report) Markdown(w io.Writer) error {
	bw := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }
	in := r.Incident
	p("# Incident %d: %s\n\n", in.ID, md(r.Story.Headline))
	if r.Story.Headline != in.Title {
		p("Opened as: %s\n\n", md(in.Title))
	}
	state := string(in.State)
	if !in.AckedAt.IsZero() {
		state += fmt.Sprintf(" (acknowledged by %s at %s)", md(in.AckedBy), stamp(in.AckedAt))
	}
	p("- State: %s\n", state)
	p("- Severity: %s\n", in.Severity)
	p("- Opened: %s\n", stamp(in.OpenedAt))
	if !in.ResolvedAt.IsZero() {
		p("- Resolved: %s\n", stamp(in.ResolvedAt))
	}
	p("- First seen: %s; last seen: %s\n", stamp(r.FirstSeen), stamp(r.LastSeen))
	e := r.Exposure
	if e.Ongoing {
		p("- Exposure window: from %s, ongoing\n", stamp(e.Start))
	} else {
		p("- Exposure window: %s to %s (%s)\n", stamp(e.Start), stamp(e.End), span(e.End.Sub(e.Start)))
	}
	if e.MaxTTL > 0 {
		if !e.CachedUntil.IsZero() {
			p("- Cached DNS answers: the bad data may be served until %s (largest TTL %s)\n", stamp(e.CachedUntil), span(e.MaxTTL))
		} else {
			p("- Cached DNS answers: the bad data may be served %s after the revert (largest TTL)\n", span(e.MaxTTL))
		}
	}
	p("- Report generated: %s\n\n", stamp(r.GeneratedAt))

	p("## Summary\n\n%s\n\n", md(r.Summary()))
	r.storyMarkdown(p)
	r.checklistMarkdown(p)

	p("## Impact\n\n")
	im := r.Impact
	if len(im.Accounts) > 0 {
		p("Accounts (%d):\n\n| Account | Messages | Recipients |\n|---|---:|---:|\n", len(im.Accounts))
		for _, a := range im.Accounts {
			p("| %s | %d | %d |\n", md(a.Name), a.Messages, a.Recipients)
		}
		p("\n")
	}
	if len(im.Domains) > 0 {
		quoted := make([]string, len(im.Domains))
		for i, d := range im.Domains {
			quoted[i] = md(d)
		}
		p("Domains (%d): %s\n\n", len(im.Domains), strings.Join(quoted, ", "))
	}
	if len(im.Sites) > 0 {
		p("Web sites (%d):\n\n", len(im.Sites))
		for _, s := range im.Sites {
			p("- %s\n", md(s))
		}
		p("\n")
	}
	if len(im.Blocklistings) > 0 {
		p("Blocklistings (%d):\n\n| Target | List | Since | State |\n|---|---|---|---|\n", len(im.Blocklistings))
		for _, l := range im.Blocklistings {
			p("| %s | %s | %s | %s |\n", md(l.Target), md(l.List), stamp(l.Since), l.State)
		}
		p("\n")
	}
	if len(im.Certificates) > 0 {
		p("Certificates (%d):\n\n", len(im.Certificates))
		certTable(p, im.Certificates)
	}
	if len(im.Accounts)+len(im.Domains)+len(im.Sites)+len(im.Blocklistings)+len(im.Certificates) == 0 {
		p("Nothing recorded beyond the alerts below.\n\n")
	}

	p("## Alerts\n\n| # | Watch/rule | Subject | Severity | State | First seen | Last seen | Findings |\n|---:|---|---|---|---|---|---|---:|\n")
	for _, a := range r.Alerts {
		p("| %d | %s/%s | %s | %s | %s | %s | %s | %d |\n", a.ID, md(a.Watch), md(a.Rule), md(a.Subject), a.Severity, a.State,
			stamp(a.FirstSeen), stamp(a.LastSeen), a.Count)
	}
	p("\n")

	p("## Timeline\n\n| Time (UTC) | Kind | Who | What |\n|---|---|---|---|\n")
	for _, t := range r.Timeline {
		p("| %s | %s | %s | %s |\n", stamp(t.Time), t.Kind, md(t.Actor), md(t.Text))
	}
	p("\n")

	p("## Actions\n\n")
	if len(r.Actions) == 0 {
		p("None recorded.\n\n")
	}
	for _, a := range r.Actions {
		p("- %s %s: %s\n", stamp(a.Time), md(a.Actor), md(a.Text))
	}
	if len(r.Actions) > 0 {
		p("\n")
	}

	if len(r.RevertPlan) > 0 {
		p("## Revert plan\n\nSet each record back to what was expected (vigie's baseline before the change).\n\n")
		p("| Domain | Record | Now (observed) | Revert to (expected) | Done |\n|---|---|---|---|---|\n")
		for _, rv := range r.RevertPlan {
			done := "no"
			if rv.Done {
				done = "yes"
			}
			p("| %s | %s | %s | %s | %s |\n", md(rv.Domain), md(rv.Rule), md(rv.Observed), md(rv.Expected), done)
		}
		p("\n")
	}
	if len(r.Impact.Domains) > 0 {
		p("## Certificates issued in the window\n\n")
		if len(r.CertificatesInWindow) == 0 {
			p("None seen in Certificate Transparency between %s and %s.\n\n", stamp(e.Start), windowEnd(e))
		} else {
			certTable(p, r.CertificatesInWindow)
		}
	}

	return bw.Flush()
}

func windowEnd(e Exposure) string {
	switch {
	case e.Ongoing:
		return "now"
	case !e.CachedUntil.IsZero():
		return stamp(e.CachedUntil)
	default:
		return stamp(e.End)
	}
}

func certTable(p func(string, ...any), cs []Certificate) {
	p("| Certificate | Names | Issuer | Issued | Checked |\n|---|---|---|---|---|\n")
	for _, c := range cs {
		checked := "no"
		if c.State == vigie.AlertResolved {
			checked = "yes"
		}
		p("| %s | %s | %s | %s | %s |\n", md(c.Subject), md(c.Names), md(c.Issuer), stamp(c.Seen), checked)
	}
	p("\n")
}
