package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/alert"
	"github.com/vigie/vigie/internal/incident"
	"github.com/vigie/vigie/internal/notify"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watches"
)

func incidentCommand() *command {
	return &command{name: "incident", summary: "list, show, report and handle incidents", sub: []*command{
		{name: "list", summary: "list incidents, newest first", run: incidentList},
		{name: "show", summary: "show an incident: its alerts and timeline", run: incidentShow},
		{name: "report", summary: "write an incident's report (Markdown or JSON)", run: incidentReport},
		{name: "ack", summary: "acknowledge an incident (audited)", run: incidentAck},
		{name: "resolve", summary: "resolve an incident and its alerts (audited)", run: incidentResolve},
		{name: "note", summary: "add a note to an incident's timeline (audited)", run: incidentNote},
		{name: "merge", summary: "merge incidents into one (audited)", run: incidentMerge},
		{name: "split", summary: "move alerts out of an incident into a new one (audited)", run: incidentSplit},
	}}
}

// incidentFlags are the flags every incident command shares.
type incidentFlags struct {
	*flags
	config *string
	actor  *string
}

func newIncidentFlags(env *Env, name, usage, help string, acts bool) *incidentFlags {
	f := &incidentFlags{flags: newFlags(env, "vigie incident "+name, usage, help)}
	f.config = f.String("config", "", "configuration file, for the store's location (default: $VIGIE_CONFIG, else the defaults)")
	if acts {
		f.actor = f.String("as", "", "who acts, for the audit log and the timeline (default: $SUDO_USER, else $USER)")
	}
	return f
}

// parseAll parses flags wherever they are among the arguments, so that
// `vigie incident note 3 --as root text` works as well as flags first.
func (f *incidentFlags) parseAll(args []string) (rest []string, code int, ok bool) {
	for {
		if code, ok := f.parse(args); !ok {
			return nil, code, false
		}
		args = f.Args()
		if len(args) == 0 {
			return rest, 0, true
		}
		if args[0] == "--" {
			return append(rest, args[1:]...), 0, true
		}
		rest = append(rest, args[0])
		args = args[1:]
	}
}

func (f *incidentFlags) who() string {
	if f.actor != nil && *f.actor != "" {
		return *f.actor
	}
	return actor(f.env)
}

// open opens the store the daemon writes to. It refuses to create one:
// a wrong --data would otherwise show an empty list and look fine.
func (f *incidentFlags) open(ctx context.Context) (store.Store, int, bool) {
	path := *f.config
	cfg, code, ok := loadConfig(f.env, path)
	if !ok {
		return nil, code, false
	}
	db, err := openStore(ctx, f.env, cfg, false)
	if err != nil {
		fmt.Fprintf(f.env.Stderr, "%s: %v\n", f.Name(), err)
		return nil, exitFail, false
	}
	return db, 0, true
}

func (f *incidentFlags) fail(err error) int {
	fmt.Fprintf(f.env.Stderr, "%s: %v\n", f.Name(), err)
	return exitFail
}

func parseIDs(what string, args []string) ([]int64, error) {
	var out []int64
	for _, a := range args {
		id, err := strconv.ParseInt(strings.TrimPrefix(a, "#"), 10, 64)
		if err != nil || id <= 0 {
			return nil, fmt.Errorf("expected %s numbers, got %q", what, a)
		}
		out = append(out, id)
	}
	return out, nil
}

// text makes stored, attacker-controlled text safe for a terminal: no
// control characters (escape sequences), one line.
func text(s string) string { return notify.OneLine(s, 0) }

func incidentList(ctx context.Context, env *Env, args []string) int {
	f := newIncidentFlags(env, "list", "[--state open|acknowledged|resolved|active] [--limit N] [--json]", `
Lists incidents, newest first: id, state, severity, when it opened, how
many alerts, its title.`, false)
	state := f.String("state", "", "only incidents in this state (active: open or acknowledged)")
	limit := f.Int("limit", 100, "at most this many")
	asJSON := f.Bool("json", false, "JSON instead of a table")
	rest, code, ok := f.parseAll(args)
	if !ok {
		return code
	}
	if len(rest) != 0 {
		return f.usageError("takes no arguments")
	}
	q := store.IncidentQuery{Limit: *limit}
	switch *state {
	case "":
	case "active":
		q.States = []vigie.IncidentState{vigie.IncidentOpen, vigie.IncidentAcknowledged}
	case "open", "acknowledged", "resolved":
		q.States = []vigie.IncidentState{vigie.IncidentState(*state)}
	default:
		return f.usageError("--state must be open, acknowledged, resolved or active, got %q", *state)
	}
	db, code, ok := f.open(ctx)
	if !ok {
		return code
	}
	defer db.Close()
	ins, err := db.ListIncidents(ctx, q)
	if err != nil {
		return f.fail(err)
	}
	type row struct {
		ID       int64     `json:"id"`
		State    string    `json:"state"`
		Severity string    `json:"severity"`
		OpenedAt time.Time `json:"opened_at"`
		Alerts   int       `json:"alerts"`
		Title    string    `json:"title"`
	}
	rows := []row{}
	for _, in := range ins {
		as, err := db.ListAlerts(ctx, store.AlertQuery{IncidentID: in.ID, Limit: 1000000})
		if err != nil {
			return f.fail(err)
		}
		rows = append(rows, row{in.ID, string(in.State), in.Severity.String(), in.OpenedAt, len(as), in.Title})
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(map[string]any{"incidents": rows})
		return exitOK
	}
	fmt.Fprintf(env.Stdout, "%-5s %-12s %-8s %-20s %6s  %s\n", "ID", "STATE", "SEVERITY", "OPENED (UTC)", "ALERTS", "TITLE")
	for _, r := range rows {
		fmt.Fprintf(env.Stdout, "%-5d %-12s %-8s %-20s %6d  %s\n", r.ID, r.State, r.Severity, r.OpenedAt.UTC().Format(time.DateTime), r.Alerts, text(notify.OneLine(r.Title, 100)))
	}
	return exitOK
}

func oneID(f *incidentFlags, rest []string) (int64, int, bool) {
	if len(rest) != 1 {
		return 0, f.usageError("expected one incident number, got %d arguments", len(rest)), false
	}
	ids, err := parseIDs("incident", rest)
	if err != nil {
		return 0, f.usageError("%v", err), false
	}
	return ids[0], 0, true
}

func incidentShow(ctx context.Context, env *Env, args []string) int {
	f := newIncidentFlags(env, "show", "N", `
Shows incident N: its state, its alerts and its whole timeline (findings,
state changes, notifications, actions, notes).`, false)
	rest, code, ok := f.parseAll(args)
	if !ok {
		return code
	}
	id, code, ok := oneID(f, rest)
	if !ok {
		return code
	}
	db, code, ok := f.open(ctx)
	if !ok {
		return code
	}
	defer db.Close()
	r, err := incident.Build(ctx, db, id, time.Now())
	if err != nil {
		return f.fail(err)
	}
	showText(env.Stdout, r)
	return exitOK
}

func showText(w io.Writer, r *incident.Report) {
	in := r.Incident
	fmt.Fprintf(w, "Incident %d: %s\n", in.ID, text(r.Story.Headline))
	if r.Story.Headline != in.Title {
		fmt.Fprintf(w, "Opened as: %s\n", text(in.Title))
	}
	fmt.Fprintf(w, "State:     %s", in.State)
	if !in.AckedAt.IsZero() {
		fmt.Fprintf(w, " (acknowledged by %s at %s)", text(in.AckedBy), in.AckedAt.UTC().Format(time.DateTime))
	}
	fmt.Fprintf(w, "\nSeverity:  %s\nOpened:    %s UTC\n", in.Severity, in.OpenedAt.UTC().Format(time.DateTime))
	fmt.Fprintf(w, "Seen:      %s to %s UTC\n", r.FirstSeen.UTC().Format(time.DateTime), r.LastSeen.UTC().Format(time.DateTime))
	fmt.Fprintf(w, "Summary:   %s\n\nChecklist:\n", text(r.Summary()))
	for _, st := range r.Checklist {
		box := "[ ]"
		if st.Done {
			box = "[x]"
		}
		fmt.Fprintf(w, "  %s %s", box, text(st.Text))
		if st.Done {
			fmt.Fprintf(w, " (%s, %s)", text(st.By), st.At.UTC().Format(time.DateTime))
		} else if st.Command != "" {
			fmt.Fprintf(w, ": %s", text(st.Command))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "\nAlerts:\n")
	for _, a := range r.Alerts {
		fmt.Fprintf(w, "  %-5d %-12s %-8s %s/%s %s: %s (%d findings)\n", a.ID, a.State, a.Severity, text(a.Watch), text(a.Rule),
			text(a.Subject), text(a.Summary), a.Count)
	}
	fmt.Fprintf(w, "\nTimeline (UTC):\n")
	for _, e := range r.Timeline {
		fmt.Fprintf(w, "  %s  %-12s %-10s %s\n", e.Time.UTC().Format(time.DateTime), e.Kind, text(e.Actor), text(e.Text))
	}
}

func incidentReport(ctx context.Context, env *Env, args []string) int {
	f := newIncidentFlags(env, "report", "N [--format markdown|json] [--out FILE]", `
Writes the report of incident N: what happened (by kind: DNS changes by
TLD and new value, what each account sent after its detection, the web
sites and the attacks on them, every listing with its delisting steps),
the response checklist, impact, exposure window, alerts, timeline and
actions; for a DNS incident, the revert plan and the certificates issued
in its window. Text from findings is escaped.`, false)
	format := f.String("format", "markdown", "markdown or json")
	out := f.String("out", "", "write to FILE instead of standard output")
	rest, code, ok := f.parseAll(args)
	if !ok {
		return code
	}
	id, code, ok := oneID(f, rest)
	if !ok {
		return code
	}
	if *format != "markdown" && *format != "json" {
		return f.usageError("--format must be markdown or json, got %q", *format)
	}
	db, code, ok := f.open(ctx)
	if !ok {
		return code
	}
	defer db.Close()
	r, err := incident.Build(ctx, db, id, time.Now())
	if err != nil {
		return f.fail(err)
	}
	w := env.Stdout
	if *out != "" {
		file, err := os.Create(*out)
		if err != nil {
			return f.fail(err)
		}
		defer file.Close()
		w = file
	}
	if *format == "json" {
		err = r.JSON(w)
	} else {
		err = r.Markdown(w)
	}
	if err != nil {
		return f.fail(err)
	}
	return exitOK
}

// act opens the store and a pipeline (no notifiers: the daemon notifies)
// and runs fn as the acting user.
func act(ctx context.Context, f *incidentFlags, fn func(p *alert.Pipeline, actor string) (string, error)) int {
	db, code, ok := f.open(ctx)
	if !ok {
		return code
	}
	defer db.Close()
	p := alert.New(alert.Options{Store: db, Watches: watches.All()})
	msg, err := fn(p, f.who())
	if errors.Is(err, store.ErrNotFound) {
		return f.fail(fmt.Errorf("%w (see vigie incident list)", err))
	}
	if err != nil {
		return f.fail(err)
	}
	fmt.Fprintln(f.env.Stdout, msg)
	return exitOK
}

func incidentAck(ctx context.Context, env *Env, args []string) int {
	f := newIncidentFlags(env, "ack", "N [--as NAME]", `
Acknowledges incident N: you are handling it. Its firing alerts are
acknowledged with it. Recorded in the audit log and the timeline.`, true)
	rest, code, ok := f.parseAll(args)
	if !ok {
		return code
	}
	id, code, ok := oneID(f, rest)
	if !ok {
		return code
	}
	return act(ctx, f, func(p *alert.Pipeline, actor string) (string, error) {
		in, err := p.AcknowledgeIncident(ctx, id, actor)
		return fmt.Sprintf("incident %d acknowledged by %s", in.ID, actor), err
	})
}

func incidentResolve(ctx context.Context, env *Env, args []string) int {
	f := newIncidentFlags(env, "resolve", "N [--legitimate] [--note TEXT] [--as NAME]", `
Resolves incident N and its active alerts. If the same thing comes back,
its alert fires again and the incident re-opens. Recorded in the audit log
and the timeline.

With --legitimate, the mail it alerted on was the sender's own (a
newsletter): the mail watch learns the alert periods of its account-volume
alerts as the sender's habit, so the same mailing does not alert again.
Without it, a day with an alert open is never learned.`, true)
	note := f.String("note", "", "why it is resolved, written in the timeline")
	legit := f.Bool("legitimate", false, "the mail alerted on was legitimate: learn it as habit")
	rest, code, ok := f.parseAll(args)
	if !ok {
		return code
	}
	id, code, ok := oneID(f, rest)
	if !ok {
		return code
	}
	db, code, ok := f.open(ctx)
	if !ok {
		return code
	}
	defer db.Close()
	text := *note
	if *legit {
		subjects, err := watches.All().LearnLegitimate(ctx, db, id, f.who(), time.Now())
		if err != nil {
			return f.fail(err)
		}
		if len(subjects) == 0 {
			return f.fail(fmt.Errorf("incident %d has no mail volume alert to learn as legitimate", id))
		}
		text = strings.TrimSpace(fmt.Sprintf("marked legitimate: the mail of %s is learned as habit. %s", strings.Join(subjects, ", "), text))
	}
	p := alert.New(alert.Options{Store: db, Watches: watches.All()})
	in, err := p.ResolveIncident(ctx, id, f.who(), text)
	if errors.Is(err, store.ErrNotFound) {
		return f.fail(fmt.Errorf("%w (see vigie incident list)", err))
	}
	if err != nil {
		return f.fail(err)
	}
	fmt.Fprintf(f.env.Stdout, "incident %d resolved by %s\n", in.ID, f.who())
	return exitOK
}

func incidentNote(ctx context.Context, env *Env, args []string) int {
	f := newIncidentFlags(env, "note", "N TEXT... [--as NAME]", `
Adds a note to the timeline of incident N: what you learnt, what you did
outside vigie. Recorded in the audit log.`, true)
	rest, code, ok := f.parseAll(args)
	if !ok {
		return code
	}
	if len(rest) < 2 {
		return f.usageError("expected an incident number and the note's text")
	}
	id, code, ok := oneID(f, rest[:1])
	if !ok {
		return code
	}
	return act(ctx, f, func(p *alert.Pipeline, actor string) (string, error) {
		return fmt.Sprintf("note added to incident %d", id), p.AddNote(ctx, id, actor, strings.Join(rest[1:], " "))
	})
}

func incidentMerge(ctx context.Context, env *Env, args []string) int {
	f := newIncidentFlags(env, "merge", "N M... [--as NAME]", `
Merges incidents M... into incident N: their alerts and timelines move to
N, they are resolved with a pointer to N, and later alerts of their groups
join N. Recorded in the audit log and the timelines.`, true)
	rest, code, ok := f.parseAll(args)
	if !ok {
		return code
	}
	if len(rest) < 2 {
		return f.usageError("expected the incident to merge into, then the incidents to merge")
	}
	ids, err := parseIDs("incident", rest)
	if err != nil {
		return f.usageError("%v", err)
	}
	return act(ctx, f, func(p *alert.Pipeline, actor string) (string, error) {
		in, err := p.Merge(ctx, ids[0], ids[1:], actor)
		return fmt.Sprintf("merged %d incidents into incident %d", len(ids)-1, in.ID), err
	})
}

func incidentSplit(ctx context.Context, env *Env, args []string) int {
	f := newIncidentFlags(env, "split", "N ALERT... [--as NAME]", `
Moves the alerts ALERT... (numbers from 'vigie incident show N') out of
incident N into a new incident, with their part of the timeline. Recorded
in the audit log and both timelines.`, true)
	rest, code, ok := f.parseAll(args)
	if !ok {
		return code
	}
	if len(rest) < 2 {
		return f.usageError("expected the incident number, then the alert numbers to move out")
	}
	id, code, ok := oneID(f, rest[:1])
	if !ok {
		return code
	}
	alerts, err := parseIDs("alert", rest[1:])
	if err != nil {
		return f.usageError("%v", err)
	}
	return act(ctx, f, func(p *alert.Pipeline, actor string) (string, error) {
		in, err := p.Split(ctx, id, alerts, actor)
		return fmt.Sprintf("%d alerts moved from incident %d to new incident %d", len(alerts), id, in.ID), err
	})
}
