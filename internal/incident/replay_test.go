package incident

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/alert"
	"github.com/vigie/vigie/internal/blocklist"
	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/mail"
	"github.com/vigie/vigie/internal/mail/mailgen"
	"github.com/vigie/vigie/internal/replay"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/store/sqlite"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watches"
)

// The must-show: a compromised-account log replayed through the
// real mail detectors and pipeline gives one incident whose timeline has
// the detection and the actions, and a Markdown report says so.
func TestReportFromAReplayedCompromisedAccountLog(t *testing.T) {
	ctx := context.Background()
	day := time.Date(2024, 9, 29, 0, 0, 0, 0, time.UTC)
	thirteen := day.Add(13 * time.Hour)
	const thief = "member12@example.org"
	s := mailgen.Scenario{Start: day, End: day.Add(20 * time.Hour), Seed: 7, Users: 30, PerUserPerDay: 30, InboundPerHour: 30,
		Bursts: []mailgen.Burst{{User: thief, Start: thirteen, Every: time.Second, Count: 2 * 3600}}}
	var log bytes.Buffer
	if _, err := s.Write(&log); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "mail.log")
	writeFile(t, file, log.Bytes())
	db, err := sqlite.Open(ctx, filepath.Join(dir, "v.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	cfg := config.Default()
	var out bytes.Buffer
	_, err = replay.Run(ctx, replay.Options{Watches: watches.All(), Store: db, Out: &out, ResolveAfter: cfg.Alerts.ResolveAfter,
		Sets: []replay.NewSet{func(emit func(vigie.Finding)) (replay.Set, error) {
			return mail.NewEngine(mail.EngineOptions{Config: cfg.Mail, Emit: emit, LogQueue: true}), nil
		}}}, []string{file})
	if err != nil {
		t.Fatal(err)
	}

	// The admin's actions, the next morning: hold, then a note.
	now := day.Add(21 * time.Hour)
	p := alert.New(alert.Options{Watches: watches.All(), Store: db, Now: func() time.Time { return now }})
	if _, err := p.RecordAction(ctx, alert.Action{Actor: "admin", Name: "mail.hold", Target: thief, Detail: "held 412 messages",
		Group: alert.AccountGroup(thief)}); err != nil {
		t.Fatal(err)
	}

	ins, err := db.ListIncidents(ctx, store.IncidentQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	for _, in := range ins {
		if in.Key == alert.AccountGroup(thief) {
			if id != 0 {
				t.Errorf("two incidents for %s", thief)
			}
			id = in.ID
		} else if strings.Contains(in.Key, "@") {
			t.Errorf("an incident names another account: %+v", in)
		}
	}
	if id == 0 {
		t.Fatalf("no incident for %s: %+v\n%s", thief, ins, out.String())
	}
	tl, _ := db.Timeline(ctx, id)
	var detected, held bool
	for _, e := range tl {
		if e.Kind == vigie.TimelineFinding && strings.Contains(e.Text, "account-volume") {
			if d := e.Time.Sub(thirteen); d < 0 || d > 2*time.Minute {
				t.Errorf("detected at %s, %s after 13:00", e.Time, d)
			}
			detected = true
		}
		held = held || (e.Kind == vigie.TimelineAction && strings.Contains(e.Text, "mail.hold"))
	}
	if !detected || !held {
		t.Fatalf("timeline lacks the detection (%v) or the hold (%v): %+v", detected, held, tl)
	}
	r, err := Build(ctx, db, id, now)
	if err != nil {
		t.Fatal(err)
	}
	var md bytes.Buffer
	if err := r.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"member12@example.org", "account-volume", "mail.hold", "## Timeline"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, md.String())
		}
	}
	t.Logf("report:\n%s", md.String())
}

func writeFile(t *testing.T, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// The must-show: a stolen password replayed through the real mail
// detectors, Microsoft refusing the server half-way, the delisting data of
// the blocklist watch as the daemon wires it. The Markdown report has the
// delisting URL and every step, and counts exactly what the account sent
// after the detection: the count read from the log itself, message by
// message, not the count frozen at the last 5-minute repeat.
func TestReplayedCompromiseReportCountsExactlyAndSaysHowToDelist(t *testing.T) {
	ctx := context.Background()
	day := time.Date(2024, 9, 29, 0, 0, 0, 0, time.UTC)
	start := day.Add(13 * time.Hour)
	const thief = "manon@club-asso.example"
	// 1,500 messages a second apart, the last 1,000 with Microsoft
	// refusing; ended by 13:25 on a log that runs to 20:00, so the alert
	// resolves on its own and its count is final. Neither phase ends on a
	// 5-minute repeat of the finding.
	s := mailgen.Scenario{Start: day, End: day.Add(20 * time.Hour), Seed: 11, Users: 25, PerUserPerDay: 30, InboundPerHour: 30,
		Bursts: []mailgen.Burst{
			{User: thief, Start: start, Every: time.Second, Count: 500, Domains: 300},
			{User: thief, Start: start.Add(500 * time.Second), Every: time.Second, Count: 1003, Domains: 300, Blocked: true},
		}}
	var log bytes.Buffer
	if _, err := s.Write(&log); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "mail.log")
	writeFile(t, file, log.Bytes())
	db, err := sqlite.Open(ctx, filepath.Join(dir, "v.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cat, err := blocklist.LoadCatalog("", nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	if _, err := replay.Run(ctx, replay.Options{Watches: watches.All(), Store: db, Out: io.Discard, ResolveAfter: cfg.Alerts.ResolveAfter,
		Sets: []replay.NewSet{func(emit func(vigie.Finding)) (replay.Set, error) {
			return mail.NewEngine(mail.EngineOptions{Config: cfg.Mail, Emit: emit, LogQueue: true, Delisting: cat.DelistingFor}), nil
		}}}, []string{file}); err != nil {
		t.Fatal(err)
	}
	as, err := db.ListAlerts(ctx, store.AlertQuery{Watch: mail.WatchName})
	if err != nil {
		t.Fatal(err)
	}
	var volume vigie.Alert
	for _, a := range as {
		if a.Rule == string(mail.RuleAccountVolume) && a.Subject == thief {
			volume = a
		}
	}
	if volume.ID == 0 || volume.State != vigie.AlertResolved {
		t.Fatalf("the account's alert: %+v", volume)
	}
	// What the account sent after the detection, read from the log: its
	// messages strictly after the second of the first finding, up to the
	// alert's resolution.
	detected := volume.FirstSeen
	var after, total int64
	for _, line := range strings.Split(log.String(), "\n") {
		if !strings.Contains(line, "sasl_username="+thief) {
			continue
		}
		at, err := time.Parse(time.RFC3339, strings.Fields(line)[0])
		if err != nil {
			t.Fatalf("stamp of %q: %v", line, err)
		}
		total++
		if at.After(detected) && !at.After(volume.ResolvedAt) {
			after++
		}
	}
	if total != 1503 || after < 1400 {
		t.Fatalf("the log has %d messages of %s, %d after %s", total, thief, after, detected)
	}

	r, err := Build(ctx, db, volume.IncidentID, day.Add(21*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var md bytes.Buffer
	if err := r.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	out := md.String()
	ms := r.Story.Mail
	if len(ms) != 1 || ms[0].AfterMessages != after || !ms[0].Final {
		t.Errorf("report counts %+v after the detection; the log has %d", ms, after)
	}
	want := fmt.Sprintf("- Sent after the detection: %s messages", thousands(after))
	ms365, _ := cat.Delisting("microsoft", "198.51.100.7")
	if ms365 == nil || ms365.DelistURL == "" || len(ms365.DelistSteps) == 0 {
		t.Fatalf("the zone data has no delisting for microsoft: %+v", ms365)
	}
	musts := []string{want, "(final: the alert resolved)", "Delisting: " + md2(ms365.DelistURL)}
	for _, step := range ms365.DelistSteps {
		musts = append(musts, md2(step))
	}
	for _, m := range musts {
		if !strings.Contains(out, m) {
			t.Errorf("report lacks %q", m)
		}
	}
	if !strings.HasPrefix(out, "# Incident ") || !strings.Contains(strings.SplitN(out, "\n", 2)[0], thief+" sent 1,503 messages in ") {
		t.Errorf("headline: %s", strings.SplitN(out, "\n", 2)[0])
	}
	t.Logf("the account sent %d messages after its detection at %s; report:\n%s", after, detected.Format(time.TimeOnly), out)
}

func md2(s string) string { return md(s) }
