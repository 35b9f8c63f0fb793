package ui

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The web page says how old the version data that rated the installs is
// (issue: "the dashboard shows its age"), from what the web watch records
// after each scan; the source is shown escaped.
func TestWebPageShowsTheVersionDataAge(t *testing.T) {
	f := newFixture(t, false)
	ts := httptest.NewServer(f.srv.Handler())
	defer ts.Close()
	c := newClient(t)
	if r := do(t, c, "GET", ts.URL+"/watches/web", "", nil); strings.Contains(r.body, "Version data") {
		t.Fatal("a version data panel before any scan")
	}
	date := f.clock.Now().Add(-40 * 24 * time.Hour).Format(time.DateOnly)
	info, _ := json.Marshal(map[string]any{"date": date, "source": "endoflife.date <b>", "scanned_at": f.clock.Now(), "installs": 12})
	if err := f.db.PutState(context.Background(), "web", "data", info); err != nil {
		t.Fatal(err)
	}
	r := do(t, c, "GET", ts.URL+"/watches/web", "", nil)
	for _, want := range []string{"Version data", date, "40 days old", "endoflife.date &lt;b&gt;", "12 installs"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the web page lacks %q", want)
		}
	}
	api := do(t, c, "GET", ts.URL+"/api/v1/watches/web", "", nil)
	if !strings.Contains(api.body, `"age_days": 40`) {
		t.Errorf("the API lacks the data's age: %s", api.body)
	}
}
