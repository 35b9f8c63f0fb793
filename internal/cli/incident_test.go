package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/alert"
	"github.com/vigie/vigie/internal/dnswatch"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/store/sqlite"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watches"
)

// seed writes what a running daemon would have: two account incidents.
func seed(t *testing.T, dir string) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "vigie.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p := alert.New(alert.Options{Watches: watches.All(), Store: db})
	t0 := time.Date(2024, 9, 29, 13, 0, 0, 0, time.UTC)
	for i, subj := range []string{"alice@club1.fr", "bob@club1.fr\x1b[31m"} {
		for _, rule := range []string{"account-volume", "many-ips"} {
			if err := p.Emit(context.Background(), vigie.Finding{Watch: "mail", Rule: rule, Subject: subj, Severity: vigie.SeverityCritical,
				Time: t0.Add(time.Duration(i) * time.Minute), Summary: subj + " " + rule, Evidence: map[string]string{"messages": "900"}}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func run(t *testing.T, dir string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	env := map[string]string{"SUDO_USER": "root", "VIGIE_DATA": dir}
	code := Main(context.Background(), Env{Args: args, Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }})
	return out.String(), errb.String(), code
}

func TestIncidentCommands(t *testing.T) {
	dir := t.TempDir()
	seed(t, dir)
	out, errs, code := run(t, dir, "incident", "list")
	if code != 0 || !strings.Contains(out, "alice@club1.fr account-volume") || strings.Count(out, "\n") != 3 {
		t.Fatalf("list: %d %q %q", code, out, errs)
	}
	if strings.Contains(out, "\x1b") {
		t.Error("an escape sequence from a finding reached the terminal")
	}
	out, _, code = run(t, dir, "incident", "list", "--json", "--state", "active")
	var listed struct{ Incidents []struct{ ID, Alerts int } }
	if code != 0 || json.Unmarshal([]byte(out), &listed) != nil || len(listed.Incidents) != 2 || listed.Incidents[0].Alerts != 2 {
		t.Fatalf("list --json: %d %s", code, out)
	}
	if out, _, code = run(t, dir, "incident", "show", "1"); code != 0 || !strings.Contains(out, "Timeline (UTC):") || !strings.Contains(out, "fired mail/many-ips") {
		t.Errorf("show: %d %s", code, out)
	}
	if out, errs, code = run(t, dir, "incident", "ack", "1"); code != 0 || out != "incident 1 acknowledged by root\n" {
		t.Errorf("ack: %d %q %q", code, out, errs)
	}
	if _, errs, code = run(t, dir, "incident", "ack", "1"); code != 1 || !strings.Contains(errs, "only an open incident can be acknowledged") {
		t.Errorf("second ack: %d %q", code, errs)
	}
	if _, errs, code = run(t, dir, "incident", "note", "1", "--as", "alice-admin", "password", "changed"); code != 0 {
		t.Errorf("note: %d %q", code, errs)
	}
	if out, errs, code = run(t, dir, "incident", "merge", "1", "2"); code != 0 || out != "merged 1 incidents into incident 1\n" {
		t.Errorf("merge: %d %q %q", code, out, errs)
	}
	if out, errs, code = run(t, dir, "incident", "split", "1", "3", "4"); code != 0 || out != "2 alerts moved from incident 1 to new incident 3\n" {
		t.Errorf("split: %d %q %q", code, out, errs)
	}
	if out, errs, code = run(t, dir, "incident", "resolve", "1", "--note", "done"); code != 0 {
		t.Errorf("resolve: %d %q %q", code, out, errs)
	}
	out, _, code = run(t, dir, "incident", "report", "1")
	if code != 0 || !strings.Contains(out, "# Incident 1:") || !strings.Contains(out, "| note | alice-admin | password changed |") ||
		!strings.Contains(out, "resolved by root (2 active alerts resolved with it): done") {
		t.Errorf("report: %d\n%s", code, out)
	}
	report := filepath.Join(dir, "r.json")
	if _, errs, code = run(t, dir, "incident", "report", "--format", "json", "--out", report, "3"); code != 0 {
		t.Errorf("report json: %d %q", code, errs)
	}

	db, _ := sqlite.Open(context.Background(), filepath.Join(dir, "vigie.db"), sqlite.Options{})
	defer db.Close()
	audit, _ := db.ListAudit(context.Background(), store.AuditQuery{})
	var got []string
	for i := len(audit) - 1; i >= 0; i-- {
		got = append(got, audit[i].Actor+" "+audit[i].Action)
	}
	want := "root incident.acknowledge|root incident.acknowledge|alice-admin incident.note|root incident.merge|root incident.split|root incident.resolve"
	if strings.Join(got, "|") != want {
		t.Errorf("audit = %q", got)
	}
}

func TestIncidentUsage(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"incident", "show"}, 2, "expected one incident number"},
		{[]string{"incident", "show", "x"}, 2, `expected incident numbers, got "x"`},
		{[]string{"incident", "report", "1", "--format", "pdf"}, 2, "--format must be markdown or json"},
		{[]string{"incident", "list"}, 1, "no store at"},
		{[]string{"incident", "note", "1"}, 2, "expected an incident number and the note's text"},
	} {
		_, errs, code := run(t, dir, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: %d %q", tc.args, code, errs)
		}
	}
	if out, _, code := run(t, dir, "incident", "report", "--help"); code != 0 || !strings.Contains(out, "revert plan") {
		t.Errorf("--help: %d %q", code, out)
	}
}

// "Resolve as legitimate" from the command line: the watches that learn
// from an incident (the mail watch, through its descriptor) learn its
// account-volume alerts; an incident with nothing to learn is refused
// and stays open.
func TestIncidentResolveLegitimate(t *testing.T) {
	dir := t.TempDir()
	seed(t, dir)
	out, errs, code := run(t, dir, "incident", "resolve", "1", "--legitimate", "--note", "the club's newsletter")
	if code != 0 || !strings.Contains(out+errs, "resolved") {
		t.Fatalf("resolve --legitimate: %d %q %q", code, out, errs)
	}
	out, _, _ = run(t, dir, "incident", "show", "1")
	if !strings.Contains(out, "marked legitimate: the mail of alice@club1.fr is learned as habit. the club's newsletter") {
		t.Errorf("the resolution does not say what was learned:\n%s", out)
	}
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "vigie.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// A second incident whose alerts the mail watch does not learn from.
	p := alert.New(alert.Options{Watches: watches.All(), Store: db})
	if err := p.Emit(context.Background(), vigie.Finding{Watch: string(dnswatch.Name), Rule: string(dnswatch.RuleDrift), Subject: "example.fr", Group: "dns/test",
		Severity: vigie.SeverityCritical, Time: time.Now(), Summary: "ns changed", ResolveAfter: -1}); err != nil {
		t.Fatal(err)
	}
	ins, _ := db.ListIncidents(context.Background(), store.IncidentQuery{})
	db.Close()
	var dnsID int64
	for _, in := range ins {
		if in.Key == "dns/test" {
			dnsID = in.ID
		}
	}
	if _, errs, code := run(t, dir, "incident", "resolve", strconv.FormatInt(dnsID, 10), "--legitimate"); code == 0 || !strings.Contains(errs, "no mail volume alert to learn") {
		t.Errorf("an incident with nothing to learn resolved as legitimate: %d %q", code, errs)
	}
}
