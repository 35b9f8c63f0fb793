package ui

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie/vigie/internal/store/sqlite"
	"github.com/vigie/vigie/internal/vigie"
)

func newServer(t *testing.T) (*httptest.Server, *sqlite.DB) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "v.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "vigie_test_total", Help: "t"}))
	srv := httptest.NewServer(New(Options{Store: db, Gatherer: reg}).Handler())
	t.Cleanup(func() { srv.Close(); db.Close() })
	return srv, db
}

func get(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestHealthzAndMetrics(t *testing.T) {
	srv, db := newServer(t)
	if code, body, _ := get(t, srv.URL+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("healthz = %d %q", code, body)
	}
	if code, body, _ := get(t, srv.URL+"/metrics"); code != 200 || !strings.Contains(body, "vigie_test_total 0") {
		t.Errorf("metrics = %d %q", code, body)
	}
	db.Close()
	if code, _, _ := get(t, srv.URL+"/healthz"); code != http.StatusServiceUnavailable {
		t.Errorf("healthz with a closed store = %d, want 503", code)
	}
}

func TestAlertsAPI(t *testing.T) {
	srv, db := newServer(t)
	ctx := context.Background()
	hostile := `<script>alert("x")</script>`
	for i, st := range []vigie.AlertState{vigie.AlertFiring, vigie.AlertResolved} {
		_, err := db.UpdateAlert(ctx, hostile+string(st), func(a *vigie.Alert) error {
			a.Watch, a.Rule, a.Subject, a.Summary, a.Severity, a.State = "mail", "r", hostile, hostile, vigie.SeverityCritical, st
			a.FirstSeen = time.Date(2024, 9, 29, 13, 0, i, 0, time.UTC)
			a.LastSeen, a.Count = a.FirstSeen, 1
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	code, body, hdr := get(t, srv.URL+"/api/v1/alerts?state=firing")
	if code != 200 || hdr.Get("Content-Type") != "application/json" || hdr.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("alerts = %d %v", code, hdr)
	}
	if strings.Contains(body, "<script>") {
		t.Errorf("raw markup in JSON body: %s", body)
	}
	var out struct{ Alerts []apiAlert }
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Alerts) != 1 || out.Alerts[0].Subject != hostile || out.Alerts[0].Severity != "critical" || out.Alerts[0].State != "firing" {
		t.Errorf("alerts = %+v", out.Alerts)
	}
	if _, body, _ := get(t, srv.URL+"/api/v1/alerts"); strings.Count(body, `"id"`) != 2 {
		t.Errorf("unfiltered: %s", body)
	}
	for _, bad := range []string{"?state=bogus", "?limit=0", "?limit=x"} {
		if code, _, _ := get(t, srv.URL+"/api/v1/alerts"+bad); code != 400 {
			t.Errorf("%s: %d, want 400", bad, code)
		}
	}
	if resp, err := http.Post(srv.URL+"/api/v1/alerts", "application/json", nil); err != nil || resp.StatusCode != http.StatusForbidden { // no CSRF token: refused before routing
		t.Errorf("POST = %v, %v", resp.StatusCode, err)
	}
}
