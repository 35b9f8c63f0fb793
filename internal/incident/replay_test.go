package incident

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/alert"
	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/mail"
	"github.com/vigie/vigie/internal/mail/mailgen"
	"github.com/vigie/vigie/internal/replay"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/store/sqlite"
	"github.com/vigie/vigie/internal/vigie"
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
	_, err = replay.Run(ctx, replay.Options{Store: db, Out: &out, ResolveAfter: cfg.Alerts.ResolveAfter,
		Sets: []replay.NewSet{func(emit func(vigie.Finding)) (replay.Set, error) {
			return mail.NewEngine(mail.EngineOptions{Config: cfg.Mail, Emit: emit, LogQueue: true}), nil
		}}}, []string{file})
	if err != nil {
		t.Fatal(err)
	}

	// The admin's actions, the next morning: hold, then a note.
	now := day.Add(21 * time.Hour)
	p := alert.New(alert.Options{Store: db, Now: func() time.Time { return now }})
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
