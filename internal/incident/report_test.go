package incident

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/alert"
	"github.com/vigie/vigie/internal/notify"
	"github.com/vigie/vigie/internal/notify/webhook"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/store/sqlite"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watches"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// world is the real pipeline on a real SQLite store, with a webhook
// notifier posting to a receiver the test runs, on a clock the test moves.
type world struct {
	t     *testing.T
	store store.Store
	p     *alert.Pipeline
	now   time.Time
	mu    sync.Mutex
	hooks []webhook.Payload
}

func newWorld(t *testing.T, start time.Time) *world {
	w := &world{t: t, now: start}
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "vigie.db"), sqlite.Options{Now: func() time.Time { return w.now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	w.store = db
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var p webhook.Payload
		if err := json.Unmarshal(b, &p); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		w.mu.Lock()
		w.hooks = append(w.hooks, p)
		w.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	hook, err := webhook.New(webhook.Options{Name: "ops-hook", URL: srv.URL, HMACKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	w.p = alert.New(alert.Options{Watches: watches.All(), Store: db, Notifiers: []notify.Notifier{hook}, Now: func() time.Time { return w.now },
		Node: "mx1", ResolveAfter: time.Hour, Dispatch: notify.DispatchOptions{IDPrefix: "m", GroupWait: time.Millisecond},
		Brief: func(ctx context.Context, in vigie.Incident) (*notify.Brief, error) {
			return Brief(ctx, db, in, w.now, "https://vigie.example.org/")
		}})
	return w
}

func (w *world) at(t time.Time) *world { w.now = t; return w }

func (w *world) emit(f vigie.Finding) {
	w.t.Helper()
	if f.Time.IsZero() {
		f.Time = w.now
	}
	if err := w.p.Emit(context.Background(), f); err != nil {
		w.t.Fatal(err)
	}
	w.p.Drain(5 * time.Second)
}

func (w *world) incidentOf(key string) int64 {
	w.t.Helper()
	as, err := w.store.ListAlerts(context.Background(), store.AlertQuery{})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, a := range as {
		if a.Key == key {
			return a.IncidentID
		}
	}
	w.t.Fatalf("no alert %q", key)
	return 0
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it); got:\n%s", name, got)
	}
}

// The first seed incident, as the mail watch reports it: a stolen
// password sending spam through authenticated submission, held by vigie,
// acknowledged and purged by the admin, and the Microsoft blocklisting
// that followed, all one incident.
func TestCompromisedAccountReport(t *testing.T) {
	t0 := time.Date(2024, 9, 29, 13, 0, 0, 0, time.UTC)
	w := newWorld(t, t0)
	ctx := context.Background()
	const user = "alice@club1.fr"
	compromise := func(sev vigie.Severity, msgs, rcpts string) vigie.Finding {
		return vigie.Finding{Watch: "mail", Rule: "account-volume", Subject: user, Severity: sev,
			Summary:  user + " sent " + msgs + " messages in 10 minutes (habit: 12 a day)",
			Evidence: map[string]string{"messages": msgs, "recipients": rcpts, "client_ips": "3", "window": "10m"}}
	}
	w.at(t0).emit(compromise(vigie.SeverityWarning, "600", "5400"))
	w.at(t0.Add(10 * time.Minute)).emit(compromise(vigie.SeverityCritical, "1210", "10890"))
	w.at(t0.Add(11 * time.Minute)).emit(compromise(vigie.SeverityCritical, "1330", "11970")) // counted, no change
	id := w.incidentOf("mail/account-volume/" + user)
	w.at(t0.Add(11*time.Minute + 30*time.Second))
	if _, err := w.p.RecordAction(ctx, alert.Action{Actor: "vigie", Name: "mail.hold", Target: user,
		Detail: "held 412 queued messages (policy: hold over 1000 an hour)", Group: alert.AccountGroup(user)}); err != nil {
		t.Fatal(err)
	}
	w.at(t0.Add(14 * time.Minute))
	if _, err := w.p.AcknowledgeIncident(ctx, id, "root"); err != nil {
		t.Fatal(err)
	}
	w.at(t0.Add(21 * time.Minute))
	if _, err := w.p.RecordAction(ctx, alert.Action{Actor: "root", Name: "mail.password-reset", Target: user, Detail: "password changed with the member", Group: alert.AccountGroup(user)}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.p.RecordAction(ctx, alert.Action{Actor: "root", Name: "mail.purge", Target: user, Detail: "purged 412 held messages", Group: alert.AccountGroup(user)}); err != nil {
		t.Fatal(err)
	}
	w.at(t0.Add(25 * time.Minute))
	if err := w.p.AddNote(ctx, id, "root", "The password was stored in an abandoned CMS install in the member's web space."); err != nil {
		t.Fatal(err)
	}
	resolved := compromise(vigie.SeverityInfo, "0", "0")
	resolved.Resolved, resolved.Summary = true, user+" is back to its habit"
	w.at(t0.Add(40 * time.Minute)).emit(resolved)
	if in, _ := w.store.Incident(ctx, id); in.State != vigie.IncidentResolved {
		t.Fatalf("incident is %s after its alert resolved", in.State)
	}
	// Five hours later Microsoft refuses the server's mail: the blocklisting
	// re-opens the compromise's incident.
	w.at(t0.Add(5 * time.Hour)).emit(vigie.Finding{Watch: "mail", Rule: "blocklist-bounce", Subject: "192.0.2.25",
		Key: vigie.BlocklistKey("192.0.2.25", "microsoft"), Severity: vigie.SeverityCritical,
		Summary:  "outlook.com refuses mail from 192.0.2.25 (S3150)",
		Evidence: map[string]string{"reply": "550 5.7.1 Unfortunately, messages from [192.0.2.25] weren't sent. (S3150)"}})
	if got := w.incidentOf(vigie.BlocklistKey("192.0.2.25", "microsoft")); got != id {
		t.Fatalf("blocklisting in incident %d, want %d", got, id)
	}
	ins, _ := w.store.ListIncidents(ctx, store.IncidentQuery{})
	if len(ins) != 1 {
		t.Fatalf("%d incidents, want one", len(ins))
	}
	w.mu.Lock()
	if len(w.hooks) != 4 { // fired, escalated, resolved, blocklisting fired
		t.Errorf("%d webhook messages, want 4", len(w.hooks))
	}
	// Each message tells the incident: what happened, what was done, the
	// next step, its page. The first one, before anyone acted; the last
	// one, after the hold and the purge.
	first, last := w.hooks[0].Changes[0].Incident, w.hooks[len(w.hooks)-1].Changes[0].Incident
	if first == nil || first.Headline != "alice@club1.fr sent 600 messages in under a minute" ||
		first.Did != "raised 1 alert and notified; no hold or other action yet" ||
		first.Next != "Suspend alice@club1.fr (its new mail is held): vigie mail suspend alice@club1.fr" ||
		first.URL != "https://vigie.example.org/incidents/1" || !strings.Contains(w.hooks[0].Title, "incident #1: alice@club1.fr sent 600 messages") {
		t.Errorf("first message: %+v, title %q", first, w.hooks[0].Title)
	}
	if last == nil || !strings.Contains(last.Did, "root at 13:21: mail.purge alice@club1.fr") || !strings.Contains(last.Headline, "listed by microsoft") ||
		!strings.HasPrefix(last.Next, "Suspend alice@club1.fr") {
		t.Errorf("last message: %+v", last)
	}
	w.mu.Unlock()

	r, err := Build(ctx, w.store, id, t0.Add(6*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var md, js bytes.Buffer
	if err := r.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	if err := r.JSON(&js); err != nil {
		t.Fatal(err)
	}
	golden(t, "compromised-account.md", md.Bytes())
	golden(t, "compromised-account.json", js.Bytes())
	if r.Impact.Messages != 1330 || r.Impact.Recipients != 11970 || len(r.Actions) != 3 || r.Impact.Blocklistings[0].List != "microsoft" {
		t.Errorf("impact %+v, %d actions", r.Impact, len(r.Actions))
	}
}

// The third seed incident, small: rogue NS for three domains, a
// certificate issued for one of them meanwhile, the revert.
func TestDNSHijackReport(t *testing.T) {
	t0 := time.Date(2017, 7, 7, 10, 4, 0, 0, time.UTC)
	w := newWorld(t, t0)
	ctx := context.Background()
	const rogue = "ns1.rogue.example ns2.rogue.example"
	// As the DNS watch writes a drift (dnswatch/report.go).
	ns := func(domain, ttl string) vigie.Finding {
		return vigie.Finding{Watch: "dns", Rule: "drift", Subject: domain, Key: "dns/drift/" + domain + "/ns", Group: "dns/ns/" + rogue,
			Severity: vigie.SeverityCritical, Summary: "ns of " + domain + " changed to " + rogue,
			Evidence: map[string]string{"kind": "ns", "expected": "a.dns.gandi.net b.dns.gandi.net c.dns.gandi.net", "observed": rogue,
				"ttl": ttl, "max_ttl": ttl, "tld": tldOf(domain), "server": "d.nic.fr"},
			ResolveAfter: -1}
	}
	w.at(t0).emit(ns("asso-exemple.fr", "86400"))
	w.at(t0.Add(40 * time.Minute)).emit(ns("boutique.fr", "3600"))
	id := w.incidentOf("dns/drift/asso-exemple.fr/ns")
	cert := func(serial, names string) vigie.Finding {
		return vigie.Finding{Watch: "ct", Rule: "new-certificate", Subject: serial, Severity: vigie.SeverityWarning,
			Summary: "certificate for " + names, ResolveAfter: -1,
			Evidence: map[string]string{"names": names, "issuer": "C=US, O=Let's Encrypt, CN=R3", "not_before": w.now.Format(time.RFC3339)}}
	}
	w.at(t0.Add(50 * time.Minute)).emit(cert("03:a1:5f", "www.boutique.fr, boutique.fr"))
	w.at(t0.Add(55 * time.Minute)).emit(cert("04:00:9c", "unrelated.org"))
	w.at(t0.Add(100 * time.Minute)).emit(ns("club.eu", "172800"))
	if w.incidentOf("ct/new-certificate/03:a1:5f") != id || w.incidentOf("ct/new-certificate/04:00:9c") == id {
		t.Fatal("ct grouping")
	}
	w.at(t0.Add(233 * time.Minute)) // 13:57
	if err := w.p.AddNote(ctx, id, "noc", "The .fr registry informed us of NS changes on our domains."); err != nil {
		t.Fatal(err)
	}
	if _, err := w.p.AcknowledgeIncident(ctx, id, "noc"); err != nil {
		t.Fatal(err)
	}
	w.at(t0.Add(246 * time.Minute))
	if _, err := w.p.RecordAction(ctx, alert.Action{Actor: "noc", Name: "portal.lock", Target: "partner-portal", Detail: "partner web portal access closed", IncidentID: id}); err != nil {
		t.Fatal(err)
	}
	for i, d := range []string{"asso-exemple.fr", "boutique.fr"} {
		f := ns(d, "")
		f.Resolved, f.Summary = true, "NS of "+d+" back to expected"
		w.at(t0.Add(time.Duration(332+i) * time.Minute)).emit(f)
	}
	w.at(t0.Add(340 * time.Minute))
	if _, err := w.p.RecordAction(ctx, alert.Action{Actor: "noc", Name: "ct.known-good", Target: "03:a1:5f", Detail: "issued to the customer, checked by phone",
		AlertKey: "ct/new-certificate/03:a1:5f"}); err != nil {
		t.Fatal(err)
	}
	done := cert("03:a1:5f", "")
	done.Resolved = true
	w.emit(done)

	r, err := Build(ctx, w.store, id, t0.Add(6*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var md, js bytes.Buffer
	r.Markdown(&md)
	r.JSON(&js)
	golden(t, "dns-hijack.md", md.Bytes())
	golden(t, "dns-hijack.json", js.Bytes())
	if len(r.RevertPlan) != 3 || !r.RevertPlan[0].Done || r.RevertPlan[2].Done || len(r.CertificatesInWindow) != 1 ||
		r.Exposure.MaxTTL != 48*time.Hour || !r.Exposure.Ongoing {
		t.Errorf("revert %+v, certs %+v, exposure %+v", r.RevertPlan, r.CertificatesInWindow, r.Exposure)
	}

	// club.eu reverted too: the incident resolves, and the cache window ends
	// 48 h (its TTL) after.
	f := ns("club.eu", "")
	f.Resolved = true
	w.at(t0.Add(346 * time.Minute)).emit(f)
	r, _ = Build(ctx, w.store, id, t0.Add(6*time.Hour))
	if r.Exposure.Ongoing || !r.Exposure.CachedUntil.Equal(t0.Add(346*time.Minute+48*time.Hour)) {
		t.Errorf("exposure after revert = %+v", r.Exposure)
	}
}

// Hostile text in findings stays text in every format.
func TestHostileTextStaysText(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	w := newWorld(t, t0)
	hostile := "<script>alert(1)</script>\n# Owned\n| a | b |\n[click](javascript:alert(1)) ![x](http://evil/x.png) *em* `code` &amp; 1. item"
	w.emit(vigie.Finding{Watch: "mail", Rule: "account-volume", Subject: hostile, Severity: vigie.SeverityCritical, Summary: hostile,
		Evidence: map[string]string{"messages": "5"}})
	id := w.incidentOf("mail/account-volume/" + hostile)
	if err := w.p.AddNote(context.Background(), id, hostile, hostile); err != nil {
		t.Fatal(err)
	}
	r, err := Build(context.Background(), w.store, id, t0)
	if err != nil {
		t.Fatal(err)
	}
	var md, js bytes.Buffer
	r.Markdown(&md)
	r.JSON(&js)
	out := md.String()
	// Each piece of markup must only appear escaped (preceded by a backslash).
	for _, bad := range []string{"<script>", "# Owned", "](javascript", "[x](http", "*em*", "`code`", "&amp;", "| a | b |"} {
		for i := strings.Index(out, bad); i >= 0; {
			if i == 0 || out[i-1] != '\\' {
				t.Errorf("markdown contains %q unescaped: ...%s...", bad, out[max(0, i-20):min(len(out), i+30)])
				break
			}
			next := strings.Index(out[i+1:], bad)
			if next < 0 {
				break
			}
			i += 1 + next
		}
	}
	// Every table row keeps its column count: no cell was split.
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "| ") && strings.Contains(line, "script") {
			if cells := strings.Count(strings.ReplaceAll(line, `\|`, ""), "|"); cells != 5 && cells != 9 && cells != 4 {
				t.Errorf("row with %d separators: %s", cells, line)
			}
		}
	}
	var back map[string]any
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatalf("JSON broken: %v", err)
	}
	if strings.Contains(js.String(), "<script>") {
		t.Error("JSON carries a raw <script> (it must be \\u003c-escaped)")
	}
	alerts := back["alerts"].([]any)
	if alerts[0].(map[string]any)["subject"] != hostile {
		t.Error("JSON did not keep the text as is")
	}
}

func TestMarkdownEscaping(t *testing.T) {
	for in, want := range map[string]string{
		"alice@club1.fr":    "alice@club1.fr",
		"192.0.2.25":        "192.0.2.25",
		"1. item":           "1\\. item",
		"12) item":          "12\\) item",
		"- item":            "\\- item",
		"-x":                "-x",
		"a|b":               "a\\|b",
		"<b>&amp;</b>":      "\\<b\\>\\&amp;\\</b\\>",
		"[x](javascript:1)": "\\[x\\](javascript:1)",
		"line\nbreak\r# h1": "line break \\# h1",
	} {
		if got := md(in); got != want {
			t.Errorf("md(%q) = %q", in, got)
		}
	}
}

// The second seed incident: an outdated Drupal turned into a spam relay.
// The web watch's finding, the mail watch's local-uid volume finding and
// the blocklist watch's listing are one incident.
func TestWebRelayReport(t *testing.T) {
	t0 := time.Date(2019, 3, 4, 9, 0, 0, 0, time.UTC)
	w := newWorld(t, t0)
	ctx := context.Background()
	w.at(t0).emit(vigie.Finding{Watch: "web", Rule: "outdated-cms", Subject: "/var/www/asso-exemple", Severity: vigie.SeverityWarning,
		Summary: "Drupal 7.57 at /var/www/asso-exemple (SA-CORE-2018-002, Drupalgeddon 2)", ResolveAfter: -1,
		Evidence: map[string]string{"cms": "drupal", "version": "7.57", "owner": "asso", "uid": "1001"}})
	w.at(t0.Add(3 * time.Hour)).emit(vigie.Finding{Watch: "mail", Rule: "uid-volume", Subject: "uid:1001", Severity: vigie.SeverityCritical,
		Summary: "uid 1001 (asso) injected 2400 messages in an hour through sendmail", ResolveAfter: -1,
		Evidence: map[string]string{"messages": "2400", "recipients": "2400", "owner": "asso"}})
	w.at(t0.Add(5 * time.Hour)).emit(vigie.Finding{Watch: "blocklist", Rule: "listed", Subject: "198.51.100.7",
		Key: vigie.BlocklistKey("198.51.100.7", "zen.spamhaus.org"), Severity: vigie.SeverityCritical, ResolveAfter: -1,
		Summary: "198.51.100.7 is listed by zen.spamhaus.org (127.0.0.3: CSS)", Evidence: map[string]string{"answer": "127.0.0.3"}})
	id := w.incidentOf("web/outdated-cms//var/www/asso-exemple")
	for _, k := range []string{"mail/uid-volume/uid:1001", vigie.BlocklistKey("198.51.100.7", "zen.spamhaus.org")} {
		if got := w.incidentOf(k); got != id {
			t.Fatalf("%s in incident %d, want %d", k, got, id)
		}
	}
	w.at(t0.Add(5*time.Hour + 10*time.Minute))
	if _, err := w.p.RecordAction(ctx, alert.Action{Actor: "vigie", Name: "mail.hold", Target: "uid:1001", Detail: "held 180 queued messages",
		Group: alert.AccountGroup("uid:1001")}); err != nil {
		t.Fatal(err)
	}
	r, err := Build(ctx, w.store, id, t0.Add(6*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var md bytes.Buffer
	r.Markdown(&md)
	golden(t, "web-relay.md", md.Bytes())
}
