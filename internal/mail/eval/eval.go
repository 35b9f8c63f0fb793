// Package eval runs the mail watch's detectors over the scenario suite
// (mailgen.Server: four weeks of a realistic association's traffic, with
// and without each attack) and measures what matters: how long an attack
// runs before the first alert, how many of its messages left by then, and
// how many false alerts normal traffic raises per week. `make eval`
// prints its table; the package's tests assert the figures.
package eval

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/mail"
	"github.com/vigie/vigie/internal/mail/mailgen"
	"github.com/vigie/vigie/internal/vigie"
)

// Debug, when set, is told of every false alert.
var Debug func(vigie.Finding)

// Start is the first day of every scenario (a Monday).
var Start = time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)

// Weeks of traffic in every scenario; the first is the warm-up during
// which vigie learns habits (false alerts are counted after it).
const Weeks = 4

// Row is one line of the table.
type Row struct {
	Scenario string
	Format   string // the log format of the run
	Subject  string // who the attack sent as
	// Detected: an alert named the attack's subject; Rule and Severity
	// are the first one's.
	Detected bool
	Rule     string
	Severity vigie.Severity
	// TimeToDetect: from the attack's first message to the first alert.
	TimeToDetect time.Duration
	// Before: attack messages queued before the first alert.
	Before int
	// Messages the attack sent in all.
	Messages int
	// FalseAlerts raised on other subjects after the first week, and per
	// week.
	FalseAlerts  int
	FalsePerWeek float64
}

// Scenario is one run of the suite.
type Scenario struct {
	Attack   mailgen.AttackKind
	Duration time.Duration
	Classic  bool
	Post39   bool
	Seed     uint64
	// NoAdmin: nobody marks the newsletters' first alerts legitimate.
	NoAdmin bool
}

// Suite is the scenarios `make eval` runs: normal traffic alone, then each
// attack, in the third week, over the same kind of background; log
// formats alternate (classic and RFC 3339 stamps, Postfix 3.7 and 3.9
// failure lines). In every run the admin resolves the first alert of
// each newsletter as legitimate, as the dashboard asks them to; no other
// alert is touched.
func Suite() []Scenario {
	return []Scenario{
		{Attack: mailgen.NoAttack, Seed: 1},
		{Attack: mailgen.NoAttack, Seed: 2, Classic: true, Post39: true},
		{Attack: mailgen.StolenSpray, Duration: time.Hour, Seed: 3},
		{Attack: mailgen.StolenOneIP, Duration: time.Hour, Seed: 4, Classic: true, Post39: true},
		{Attack: mailgen.StolenSlow, Duration: 8 * time.Hour, Seed: 5},
		{Attack: mailgen.PickupPHP, Duration: time.Hour, Seed: 6, Classic: true},
		{Attack: mailgen.LocalSMTPPHP, Duration: time.Hour, Seed: 7, Post39: true},
	}
}

// AttackStart is when every attack begins: a Wednesday afternoon of the
// third week.
var AttackStart = Start.Add(16*24*time.Hour + 14*time.Hour + 3*time.Minute + 17*time.Second)

// Run runs one scenario with cfg and returns its row.
func Run(sc Scenario, cfg config.Mail) (Row, error) {
	srv := mailgen.Server{Start: Start, End: Start.Add(Weeks * 7 * 24 * time.Hour), Seed: sc.Seed, Classic: sc.Classic, Postfix39: sc.Post39,
		Attack: mailgen.Attack{Kind: sc.Attack, Start: AttackStart, Duration: sc.Duration}}
	var buf bytes.Buffer
	info, err := srv.Write(&buf)
	if err != nil {
		return Row{}, err
	}
	row := Row{Scenario: sc.Attack.String(), Subject: info.Subject, Messages: len(info.Messages), Format: format(sc)}
	type key struct{ rule, subject string }
	open := map[key]bool{}
	since := map[key]time.Time{}
	var first *vigie.Finding
	// The admin: the first alert of each newsletter is resolved as
	// legitimate once it closed (vigie incident resolve N --legitimate).
	marked := map[string]bool{}
	type mark struct {
		subject  string
		from, to time.Time
	}
	var marks []mark
	e := mail.NewEngine(mail.EngineOptions{Config: cfg, Reference: Start, Location: time.UTC, LogQueue: true, Emit: func(f vigie.Finding) {
		k := key{f.Rule, f.Subject}
		if f.Resolved {
			if open[k] && !sc.NoAdmin && f.Rule == string(mail.RuleAccountVolume) && isNewsletter(f.Subject) && !marked[f.Subject] {
				marked[f.Subject] = true
				marks = append(marks, mark{f.Subject, since[k], f.Time})
			}
			delete(open, k)
			return
		}
		if !open[k] {
			since[k] = f.Time
		}
		if open[k] {
			return // a refresh or an escalation of an open alert
		}
		open[k] = true
		if sc.Attack != mailgen.NoAttack && !f.Time.Before(AttackStart) && isAttack(f, info) {
			if first == nil {
				ff := f
				first = &ff
			}
			return
		}
		if f.Time.After(Start.Add(7 * 24 * time.Hour)) {
			row.FalseAlerts++
			if Debug != nil {
				Debug(f)
			}
		}
	}})
	for _, line := range strings.Split(buf.String(), "\n") {
		if line != "" {
			e.Line(line)
		}
		for _, m := range marks {
			e.MarkLegitimate(m.subject, m.from, m.to)
		}
		marks = marks[:0]
	}
	e.Tick(srv.End)
	row.FalsePerWeek = float64(row.FalseAlerts) / float64(Weeks-1)
	if first != nil {
		row.Detected, row.Rule, row.Severity = true, first.Rule, first.Severity
		row.TimeToDetect = first.Time.Sub(info.Messages[0])
		for _, t := range info.Messages {
			if t.Before(first.Time) || t.Equal(first.Time) {
				row.Before++
			}
		}
	}
	return row, nil
}

// isAttack: the finding names the attack's subject (or, for the whole
// server, is about the attack's window: not counted as false, nor as
// detection).
func isAttack(f vigie.Finding, info mailgen.AttackInfo) bool {
	return f.Subject == info.Subject
}

func isNewsletter(s string) bool {
	for _, n := range mailgen.Newsletters {
		if s == n {
			return true
		}
	}
	return false
}

func format(sc Scenario) string {
	s := "RFC 3339"
	if sc.Classic {
		s = "classic"
	}
	if sc.Post39 {
		return s + ", Postfix 3.9"
	}
	return s + ", Postfix 3.7"
}

// RunSuite runs every scenario of Suite.
func RunSuite(cfg config.Mail) ([]Row, error) {
	var rows []Row
	for _, sc := range Suite() {
		r, err := Run(sc, cfg)
		if err != nil {
			return nil, err
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// Print writes the rows as a Markdown table.
func Print(w io.Writer, rows []Row) {
	fmt.Fprintln(w, "| scenario | log format | first alert | time to detect | attack messages before it | false alerts / week (after week 1) |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, r := range rows {
		first, ttd, before := "-", "-", "-"
		if r.Subject != "" {
			first, ttd, before = "none", "not detected", fmt.Sprintf("%d (all)", r.Messages)
			if r.Detected {
				first = fmt.Sprintf("%s %s (%s)", r.Rule, r.Subject, r.Severity)
				ttd = r.TimeToDetect.Round(time.Second).String()
				before = fmt.Sprintf("%d of %d", r.Before, r.Messages)
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %.2f (%d) |\n", r.Scenario, r.Format, first, ttd, before, r.FalsePerWeek, r.FalseAlerts)
	}
}
