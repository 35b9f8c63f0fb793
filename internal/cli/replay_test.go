package cli

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/mail/mailgen"
)

// The must-show: one account sends 1 mail/s from 13:00 on top of
// normal traffic; `vigie replay --json` names that account within two
// minutes of 13:00, and no other account.
func TestReplayCatchesStolenPassword(t *testing.T) {
	day := time.Date(2024, 9, 29, 0, 0, 0, 0, time.UTC)
	thirteen := day.Add(13 * time.Hour)
	s := mailgen.Scenario{Start: day, End: day.Add(24 * time.Hour), Seed: 7, Users: 40, PerUserPerDay: 40, InboundPerHour: 60,
		Bursts: []mailgen.Burst{{User: "member12@example.org", Start: thirteen, Every: time.Second, Count: 4 * 3600}}}
	log := filepath.Join(t.TempDir(), "mail.log")
	var buf bytes.Buffer
	if _, err := s.Write(&buf); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(log, buf.Bytes(), 0o644)

	changes, out, errOut := replayJSON(t, log)
	var fired bool
	for _, c := range changes {
		line := c.line
		at, err := time.Parse(time.RFC3339, c.Time)
		if err != nil {
			t.Fatalf("time %q: %v", c.Time, err)
		}
		if c.Subject != "member12@example.org" {
			if c.Rule == "account-volume" || c.Rule == "sasl-many-ips" || strings.Contains(c.Subject, "@") {
				t.Errorf("an alert names another account: %s", line)
			}
			continue
		}
		if c.Change == "fired" && c.Rule == "account-volume" {
			fired = true
			if d := at.Sub(thirteen); d < 0 || d > 2*time.Minute {
				t.Errorf("fired at %s, %s after 13:00", c.Time, d)
			}
			if c.Severity == "" || c.Summary == "" {
				t.Errorf("incomplete: %s", line)
			}
		}
	}
	if !fired {
		t.Fatalf("no account-volume alert for member12:\n%s\n%s", out, errOut)
	}
}

// replayChange is one line of `vigie replay --json`.
type replayChange struct {
	Time, Change, Watch, Rule, Severity, Subject, Summary string
	line                                                  string // as printed
}

// replayJSON runs `vigie replay --json` on files, which must succeed, and
// returns the alert changes it printed, its stdout and its stderr.
func replayJSON(t *testing.T, files ...string) ([]replayChange, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(context.Background(), Env{Args: append([]string{"replay", "--json"}, files...), Stdout: &out, Stderr: &errOut,
		Getenv: func(string) string { return "" }})
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var changes []replayChange
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var c replayChange
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		c.line = line
		changes = append(changes, c)
	}
	return changes, out.String(), errOut.String()
}

func TestReplayGzipAndText(t *testing.T) {
	day := time.Date(2024, 9, 29, 0, 0, 0, 0, time.UTC)
	s := mailgen.Scenario{Start: day.Add(12 * time.Hour), End: day.Add(14 * time.Hour), Seed: 3, Classic: true, Users: 5, PerUserPerDay: 20,
		FailIP: "192.0.2.9", FailStart: day.Add(12*time.Hour + 30*time.Minute), FailEvery: 10 * time.Second, FailCount: 30}
	dir := t.TempDir()
	var buf bytes.Buffer
	s.Write(&buf)
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write(buf.Bytes())
	w.Close()
	name := filepath.Join(dir, "mail.log.1.gz")
	os.WriteFile(name, gz.Bytes(), 0o644)
	var out, errOut bytes.Buffer
	code := Main(context.Background(), Env{Args: []string{"replay", name}, Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }})
	if code != exitOK || !strings.Contains(out.String(), "fired     warning  mail/sasl-bruteforce-ip 192.0.2.9") {
		t.Fatalf("exit %d:\n%s\n%s", code, out.String(), errOut.String())
	}
	out.Reset()
	code = Main(context.Background(), Env{Args: []string{"mail", "report", "--json", name}, Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }})
	var r struct {
		SASLFailures int `json:"sasl_failures"`
		Received     int
	}
	if code != exitOK || json.Unmarshal(out.Bytes(), &r) != nil || r.SASLFailures != 30 || r.Received == 0 {
		t.Fatalf("report exit %d: %+v %s", code, r, errOut.String())
	}
}
