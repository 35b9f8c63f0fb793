package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/alert"
	"github.com/vigie/vigie/internal/mail"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
)

// Attacker-controlled text as the watches store it.
var hostile = map[string]string{
	"sender":   `<script>window.__xss=1</script>@evil.example`,
	"helo":     `"><img src=x onerror="window.__xss=2">`,
	"path":     `/wp-login.php?x=</textarea><svg onload=window.__xss=3>`,
	"txt":      `v=spf1 <iframe srcdoc="<script>parent.__xss=4</script>">`,
	"certname": `'-alert(5)-'.evil.example<style>*{display:none}</style>`,
}

func hostileFindings(at time.Time) []vigie.Finding {
	return []vigie.Finding{
		{Watch: "mail", Rule: "account-volume", Subject: hostile["sender"], Severity: vigie.SeverityCritical, Time: at,
			Summary: "sender " + hostile["sender"] + " via " + hostile["helo"], Evidence: map[string]string{"helo": hostile["helo"], "sender": hostile["sender"]}},
		{Watch: "web", Rule: "exploit-request", Subject: "site.example" + hostile["path"], Severity: vigie.SeverityWarning, Time: at,
			Summary: "request to " + hostile["path"], Evidence: map[string]string{"path": hostile["path"]}},
		{Watch: "dns", Rule: "records-changed", Subject: "club.example", Severity: vigie.SeverityCritical, Time: at,
			Summary: "TXT now " + hostile["txt"], Evidence: map[string]string{"TXT observed": hostile["txt"], "<b>key</b>": "v"}},
		{Watch: "ct", Rule: "cert-issued", Subject: hostile["certname"], Severity: vigie.SeverityWarning, Time: at,
			Summary: "certificate for " + hostile["certname"], Evidence: map[string]string{"dns_names": hostile["certname"]}},
	}
}

// pagePaths are every page of a store with incidents 1.. and alerts 1...
var pagePaths = []string{"/", "/?range=hour", "/?range=week", "/incidents", "/incidents?state=all", "/incidents/1", "/incidents/2",
	"/alerts", "/alerts?state=active&watch=mail", "/alerts/1", "/alerts/2", "/watches/mail", "/watches/dns", "/watches/web",
	"/watches/ct", "/watches/blocklist", "/watches/unknown", "/audit"}

func TestPagesEscapeHostileText(t *testing.T) {
	f := newFixture(t, false)
	ts := httptest.NewServer(f.srv.Handler())
	defer ts.Close()
	f.emit(t, hostileFindings(f.clock.Now())...)
	f.db.AddSamples(context.Background(), []vigie.Sample{{Series: string(mail.SeriesAccountMessages), Subject: hostile["sender"], Time: f.clock.Now().Add(-time.Minute), Value: 60}})
	c := newClient(t)
	for _, p := range pagePaths {
		r := do(t, c, "GET", ts.URL+p, "", nil)
		if r.code != 200 {
			t.Errorf("%s = %d", p, r.code)
			continue
		}
		for _, raw := range []string{"<script>window", "<img src=x", "<svg onload", "<iframe", "<style>*", "<b>key"} {
			if strings.Contains(r.body, raw) {
				t.Errorf("%s: raw markup %q in the page", p, raw)
			}
		}
		csp := r.hdr.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: CSP %q", p, csp)
		}
		if strings.Contains(r.body, "<script>") || strings.Contains(r.body, " style=") || strings.Contains(r.body, " on") && strings.Contains(r.body, "onerror=\"") {
			t.Errorf("%s: inline script or style in the page", p)
		}
	}
	// The escaped text is there, as text.
	r := do(t, c, "GET", ts.URL+"/watches/mail", "", nil)
	if !strings.Contains(r.body, "&lt;script&gt;window.__xss=1&lt;/script&gt;@evil.example") {
		t.Errorf("the sender is not shown escaped: %s", r.body)
	}
}

func TestAPIMirrorsPages(t *testing.T) {
	f := newFixture(t, false)
	ts := httptest.NewServer(f.srv.Handler())
	defer ts.Close()
	f.emit(t, hostileFindings(f.clock.Now())...)
	c := newClient(t)
	for _, p := range []string{"/api/v1/overview", "/api/v1/incidents", "/api/v1/incidents/1", "/api/v1/alerts", "/api/v1/alerts/1",
		"/api/v1/watches/mail", "/api/v1/audit", "/api/v1/series?series=mail_queue&subject=deferred&range=week", "/api/v1/session"} {
		r := do(t, c, "GET", ts.URL+p, "", nil)
		if r.code != 200 || r.hdr.Get("Content-Type") != "application/json" {
			t.Errorf("%s = %d %s", p, r.code, r.hdr.Get("Content-Type"))
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(r.body), &v); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		if strings.Contains(r.body, "<script>") {
			t.Errorf("%s: raw markup in JSON", p)
		}
	}
	var inc incidentView
	r := do(t, c, "GET", ts.URL+"/api/v1/incidents/1", "", nil)
	json.Unmarshal([]byte(r.body), &inc)
	if inc.Incident.ID != 1 || len(inc.Alerts) != 1 || inc.Alerts[0].Subject != hostile["sender"] || len(inc.Timeline) == 0 {
		t.Errorf("incident 1 = %+v", inc)
	}
	for _, p := range []string{"/api/v1/incidents/99", "/api/v1/alerts/99", "/incidents/99"} {
		if r := do(t, c, "GET", ts.URL+p, "", nil); r.code != 404 {
			t.Errorf("%s = %d, want 404", p, r.code)
		}
	}
	for _, p := range []string{"/api/v1/incidents/x", "/api/v1/incidents?state=bogus", "/?range=year", "/api/v1/series", "/api/v1/series?series=x&range=month"} {
		if r := do(t, c, "GET", ts.URL+p, "", nil); r.code != 400 {
			t.Errorf("%s = %d, want 400", p, r.code)
		}
	}
}

// sessionCSRF returns the CSRF token the API hands to this client.
func sessionCSRF(t testing.TB, c *http.Client, base string) string {
	t.Helper()
	var sv sessionView
	json.Unmarshal([]byte(do(t, c, "GET", base+"/api/v1/session", "", nil).body), &sv)
	if sv.CSRFToken == "" {
		t.Fatal("no CSRF token")
	}
	return sv.CSRFToken
}

func TestStateChangesNeedTokenAndSameOrigin(t *testing.T) {
	f := newFixture(t, false)
	ts := httptest.NewServer(f.srv.Handler())
	defer ts.Close()
	f.emit(t, hostileFindings(f.clock.Now())...)
	c := newClient(t)
	tok := sessionCSRF(t, c, ts.URL)
	cases := []struct {
		name string
		body string
		hdr  map[string]string
		want int
	}{
		{"no token", form("text", "x"), map[string]string{"Origin": ts.URL}, http.StatusForbidden},
		{"wrong token", form("text", "x", "csrf", "nope"), map[string]string{"Origin": ts.URL}, http.StatusForbidden},
		{"cross origin", form("text", "x", "csrf", tok), map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"cross site fetch", form("text", "x", "csrf", tok), map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"same origin", form("text", "a note", "csrf", tok), map[string]string{"Origin": ts.URL, "Sec-Fetch-Site": "same-origin"}, http.StatusSeeOther},
		{"no browser headers (curl)", form("text", "another", "csrf", tok), nil, http.StatusSeeOther},
	}
	for _, tc := range cases {
		if r := do(t, c, "POST", ts.URL+"/incidents/1/note", tc.body, tc.hdr); r.code != tc.want {
			t.Errorf("%s = %d, want %d (%s)", tc.name, r.code, tc.want, r.body)
		}
	}
	// API: the token in a header, JSON body.
	r := do(t, c, "POST", ts.URL+"/api/v1/incidents/1/note", `{"text":"from the API"}`, map[string]string{"Content-Type": "application/json", "X-CSRF-Token": tok})
	if r.code != 200 {
		t.Errorf("API note = %d %s", r.code, r.body)
	}
	if r := do(t, c, "POST", ts.URL+"/api/v1/incidents/1/note", `{"text":"x"}`, map[string]string{"Content-Type": "application/json"}); r.code != http.StatusForbidden {
		t.Errorf("API note without token = %d", r.code)
	}
	tl, _ := f.db.Timeline(context.Background(), 1)
	notes := 0
	for _, e := range tl {
		if e.Kind == vigie.TimelineNote {
			notes++
		}
	}
	if notes != 3 {
		t.Errorf("%d notes in the timeline, want 3", notes)
	}
	// DNS rebinding: another host name pointing at 127.0.0.1.
	req, _ := http.NewRequest("GET", ts.URL+"/", nil)
	req.Host = "rebind.evil.example"
	if resp, err := c.Do(req); err != nil || resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("foreign Host = %v %v", resp.StatusCode, err)
	}
}

func TestActionsAreAuditedWithTheUser(t *testing.T) {
	f := newFixture(t, true)
	ts := httptest.NewServer(f.srv.Handler())
	defer ts.Close()
	u := addUser(t, f, "dora")
	f.emit(t, vigie.Finding{Watch: "mail", Rule: "account-volume", Subject: "marie@club.example", Severity: vigie.SeverityCritical, Summary: "1 mail/s"},
		vigie.Finding{Watch: "mail", Rule: "queue-growth", Subject: "deferred", Group: alert.AccountGroup("marie@club.example"), Severity: vigie.SeverityWarning, Summary: "queue"})
	c := newClient(t)
	if r := loginWith(t, c, ts.URL, "dora", "correct horse battery", code(t, u, f.clock.Now())); r.code != http.StatusSeeOther {
		t.Fatalf("login = %d", r.code)
	}
	tok := sessionCSRF(t, c, ts.URL)
	post := func(path, body string) resp {
		return do(t, c, "POST", ts.URL+path, body, map[string]string{"Origin": ts.URL})
	}
	if r := post("/mail/hold", form("csrf", tok, "account", "marie@club.example", "alert_id", "1", "back", "/incidents/1")); r.code != http.StatusSeeOther || r.hdr.Get("Location") != "/incidents/1" {
		t.Fatalf("hold = %d %s", r.code, r.body)
	}
	if r := post("/mail/hold", form("csrf", tok, "account", "bad account\n")); r.code != http.StatusBadRequest {
		t.Errorf("hold with a newline = %d", r.code)
	}
	if r := post("/incidents/1/acknowledge", form("csrf", tok)); r.code != http.StatusSeeOther {
		t.Fatalf("ack = %d %s", r.code, r.body)
	}
	in, _ := f.db.Incident(context.Background(), 1)
	if in.State != vigie.IncidentAcknowledged || in.AckedBy != "dora" {
		t.Errorf("incident after ack = %+v", in)
	}
	if r := post("/mail/release", form("csrf", tok, "account", "marie@club.example")); r.code != http.StatusSeeOther {
		t.Fatalf("release = %d", r.code)
	}
	if r := post("/incidents/1/resolve", form("csrf", tok)); r.code != http.StatusSeeOther {
		t.Fatalf("resolve = %d %s", r.code, r.body)
	}
	in, _ = f.db.Incident(context.Background(), 1)
	alerts, _ := f.db.ListAlerts(context.Background(), store.AlertQuery{IncidentID: 1})
	if in.State != vigie.IncidentResolved || len(alerts) != 2 || alerts[0].State != vigie.AlertResolved || alerts[1].State != vigie.AlertResolved {
		t.Errorf("after resolve: %+v %+v", in, alerts)
	}
	if r := post("/incidents/1/acknowledge", form("csrf", tok)); r.code != http.StatusConflict {
		t.Errorf("ack of a resolved incident = %d", r.code)
	}
	if got := f.mail.Calls(); fmt.Sprint(got) != "[hold marie@club.example release marie@club.example]" {
		t.Errorf("mail calls = %v", got)
	}
	entries, _ := f.db.ListAudit(context.Background(), store.AuditQuery{Actor: "dora"})
	var actions []string
	for i := len(entries) - 1; i >= 0; i-- {
		actions = append(actions, entries[i].Action+":"+entries[i].Result)
	}
	want := "[user.login:ok mail.hold:ok incident.acknowledge:ok mail.release:ok incident.resolve:ok incident.acknowledge:update incident 1: incident 1 is resolved"
	if !strings.HasPrefix(fmt.Sprint(actions), want) {
		t.Errorf("audit = %v\nwant %s", actions, want)
	}
	tl, _ := f.db.Timeline(context.Background(), 1)
	var texts []string
	for _, e := range tl {
		if e.Actor == "dora" {
			texts = append(texts, e.Text)
		}
	}
	joined := strings.Join(texts, "|")
	for _, w := range []string{"mail.hold marie@club.example", "acknowledged by dora (2 firing alerts)", "resolved by dora (2 active alerts resolved with it)"} {
		if !strings.Contains(joined, w) {
			t.Errorf("timeline lacks %q: %s", w, joined)
		}
	}
	// The audit page shows it.
	if r := do(t, c, "GET", ts.URL+"/audit?actor=dora", "", nil); !strings.Contains(r.body, "mail.hold") || !strings.Contains(r.body, "marie@club.example") {
		t.Errorf("audit page: %s", r.body)
	}
}

func TestMailActionsUnavailable(t *testing.T) {
	f := newFixture(t, false)
	f.srv.o.Mail = nil
	ts := httptest.NewServer(f.srv.Handler())
	defer ts.Close()
	c := newClient(t)
	tok := sessionCSRF(t, c, ts.URL)
	if r := do(t, c, "POST", ts.URL+"/api/v1/mail/hold", `{"account":"a@b.example"}`, map[string]string{"Content-Type": "application/json", "X-CSRF-Token": tok}); r.code != http.StatusServiceUnavailable {
		t.Errorf("hold without mail actions = %d", r.code)
	}
	if r := do(t, c, "GET", ts.URL+"/watches/mail", "", nil); !strings.Contains(r.body, "none runs") {
		t.Errorf("mail page does not say hold is unavailable")
	}
}

// A watch flooding findings (distinct subjects, so distinct alerts) while
// the pages are read: every page still answers, because every list is
// bounded.
func TestResponsiveDuringFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("floods the store")
	}
	f := newFixture(t, false)
	ts := httptest.NewServer(f.srv.Handler())
	defer ts.Close()
	const before = 1000
	for i := range before {
		f.emit(t, vigie.Finding{Watch: "mail", Rule: "flood", Subject: fmt.Sprintf("early%06d@example.net", i), Group: "flood",
			Severity: vigie.SeverityWarning, Summary: "flood", Evidence: map[string]string{"n": fmt.Sprint(i)}})
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	emitted := 0
	go func() {
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			err := f.pipeline.Emit(ctx, vigie.Finding{Watch: "mail", Rule: "flood", Subject: fmt.Sprintf("spammer%06d@example.net", i),
				Group: "flood", Severity: vigie.SeverityWarning, Time: f.clock.Now(), Summary: "flood", Evidence: map[string]string{"n": fmt.Sprint(i)}})
			if err != nil && ctx.Err() == nil {
				t.Error(err)
				return
			}
			emitted++
		}
	}()
	c := newClient(t)
	c.Timeout = 20 * time.Second
	for round := 0; round < 5; round++ {
		for _, p := range []string{"/", "/incidents/1", "/alerts?state=active", "/watches/mail", "/api/v1/overview"} {
			r := do(t, c, "GET", ts.URL+p, "", nil)
			if r.code != 200 {
				t.Errorf("%s during the flood = %d", p, r.code)
			}
			// An alert row names its subject at most 6 times (table, hold
			// and release forms); a timeline entry once.
			if n := strings.Count(r.body, "@example.net"); n > 6*listLimit+timelineShown {
				t.Errorf("%s is not bounded: %d rows", p, n)
			}
		}
	}
	cancel()
	wg.Wait()
	t.Logf("%d findings emitted while the pages were read", emitted)
}
