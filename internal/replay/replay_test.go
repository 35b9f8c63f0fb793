package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/vigie"
)

// fakeSet reads "T <rfc3339> <subject>" lines and emits one finding per
// line; it stands for another log kind (the access-log detectors).
type fakeSet struct {
	emit func(vigie.Finding)
	now  time.Time
}

func (s *fakeSet) Name() string { return "fake" }

func (s *fakeSet) Line(line string) (time.Time, bool) {
	f := strings.Fields(line)
	if len(f) != 3 || f[0] != "T" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, f[1])
	if err != nil {
		return time.Time{}, false
	}
	s.now = t
	s.emit(vigie.Finding{Watch: "web", Rule: "flood", Subject: f[2], Severity: vigie.SeverityWarning, Time: t,
		Summary: "flood on " + f[2], ResolveAfter: 10 * time.Minute})
	return t, true
}

func (s *fakeSet) Tick(now time.Time) { s.now = now }

func TestRunRoutesLinesAndUsesTheLogClock(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "x.log")
	os.WriteFile(log, []byte("T 2024-09-29T13:00:00Z /login\nnoise\nT 2024-09-29T13:05:00Z /login\n"+
		"T 2024-09-29T13:30:00Z /other\n"+strings.Repeat("y", 2<<20)+"\n"), 0o644)
	var out bytes.Buffer
	res, err := Run(context.Background(), Options{JSON: true, Out: &out, ResolveAfter: time.Hour, MaxLine: 1 << 20,
		Sets: []NewSet{func(emit func(vigie.Finding)) (Set, error) { return &fakeSet{emit: emit}, nil }}}, []string{log})
	if err != nil {
		t.Fatal(err)
	}
	if res.Lines != 4 || res.Unread != 1 || res.Skipped != 1 || res.BySet["fake"] != 3 || res.Findings < 3 {
		t.Errorf("result %+v", res)
	}
	var changes []Change
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var c Change
		if err := json.Unmarshal([]byte(l), &c); err != nil {
			t.Fatal(err)
		}
		changes = append(changes, c)
	}
	// /login fires at 13:00, is repeated at 13:05 (no change), resolves
	// on the log's clock 10 minutes after its last finding (seen at
	// 13:30, the next line); /other fires at 13:30.
	want := []string{"13:00:00 fired /login", "13:30:00 resolved /login", "13:30:00 fired /other"}
	if len(changes) != len(want) {
		t.Fatalf("changes %+v", changes)
	}
	for i, c := range changes {
		if got := c.Time[11:19] + " " + c.Change + " " + c.Subject; got != want[i] {
			t.Errorf("change %d = %q, want %q", i, got, want[i])
		}
	}
}

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{"alice": "alice", "a\x1b[31mb": `a\x1b[31mb`, "é<b>": "é<b>", "\xff": `\xff`} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
}
