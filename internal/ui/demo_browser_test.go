package ui

import (
	"context"
	"encoding/csv"
	"flag"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/vigie/vigie/internal/demo"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/testutil"
	"github.com/vigie/vigie/internal/vigie"
)

// -screenshots writes the incident pages' screenshots into docs/ (the
// README shows them): go test ./internal/ui -run TestBrowserDemoIncidents -screenshots
var docShots = flag.Bool("screenshots", false, "write the demo incident screenshots into docs/img")

// pageBudget is the most a 751-domain incident page may weigh (HTML, as
// transferred): the summary and the first 50 alerts, not 751 rows.
const pageBudget = 200 << 10

// The demo's incidents, as a new user opens them in Chromium after `vigie
// demo`: the DNS hijack opens with its summary (how many domains, which
// TLDs, which rogue NS set, first and last change, exposure window with
// TTLs, the revert plan, the certificate in the window), weighs less than
// 200 KB and the browser reports how long it took to render; the mail and
// web incidents open with theirs.
func TestBrowserDemoIncidents(t *testing.T) {
	if testing.Short() {
		t.Skip("replays the four demo scenarios (about 10 s) and drives Chromium")
	}
	testutil.RequireProgram(t, "chromium")
	f := newFixture(t, false)
	ctx := context.Background()
	if _, err := demo.Load(ctx, f.pipeline, f.db, demo.Scenarios(), f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(f.srv.Handler())
	defer ts.Close()
	ins, err := f.db.ListIncidents(ctx, store.IncidentQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var dnsID, mailID, webID int64
	for _, in := range ins {
		switch {
		case strings.HasPrefix(in.Key, "dns/"):
			dnsID = in.ID
		case strings.HasPrefix(in.Key, "account:uid:"):
			webID = in.ID
		case strings.HasPrefix(in.Key, "account:") && strings.Contains(in.Key, "@"):
			mailID = in.ID
		}
	}
	if dnsID == 0 || mailID == 0 || webID == 0 {
		t.Fatalf("demo incidents: %+v", ins)
	}
	b := newBrowser(t, "")
	shot := func(name string) {
		b.screenshot(name)
		if *docShots {
			// The docs show the top of the page (the story and the
			// checklist) as a phone-to-laptop-width JPEG, not 3 MB of rows.
			b.do(chromedp.EmulateViewport(1100, 1500))
			png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
			if err != nil {
				t.Fatal(err)
			}
			dst := filepath.Join("..", "..", "docs", "img", name+".png")
			if err := os.WriteFile(dst, png, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("wrote %s", dst)
		}
	}

	// The DNS incident: timing from the browser's own Navigation Timing,
	// on the second visit (the first one also starts the browser's
	// renderer and fetches the style sheet).
	for range 2 {
		if st := b.navigate(ts.URL + "/incidents/" + itoa(dnsID)); st != 200 {
			t.Fatalf("DNS incident: %d", st)
		}
	}
	type timing struct {
		Bytes    float64 `json:"bytes"`
		Response float64 `json:"response"` // request start to last byte, ms
		Render   float64 `json:"render"`   // navigation start to load event end, ms
		Parsed   float64 `json:"parsed"`   // last byte to the document parsed and laid out (DOMContentLoaded end), ms
		Rows     float64 `json:"rows"`
	}
	tm, err := chromedp.Run(b.ctx, chromedp.Evaluate[timing](`(function(){
		var n = performance.getEntriesByType('navigation')[0];
		return {bytes: n.encodedBodySize, response: n.responseEnd - n.requestStart, render: n.loadEventEnd - n.startTime,
			parsed: n.domContentLoadedEventEnd - n.responseEnd,
			rows: document.querySelectorAll('#alerts tbody tr').length};
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("DNS incident page (751 domains): %.0f bytes (budget %d), server response %.1f ms, parsed %.1f ms after, load event %.1f ms after navigation start, %.0f alert rows",
		tm.Bytes, pageBudget, tm.Response, tm.Parsed, tm.Render, tm.Rows)
	if tm.Bytes <= 0 || tm.Bytes > pageBudget {
		t.Errorf("the DNS incident page weighs %.0f bytes, over the %d budget", tm.Bytes, pageBudget)
	}
	if tm.Rows != alertsPage {
		t.Errorf("%.0f alert rows, want the first %d", tm.Rows, alertsPage)
	}
	headline := b.text("#headline")
	if !strings.Contains(headline, "751 domains in 34 TLDs moved to ns1.rogue-dns.example") {
		t.Errorf("headline: %q", headline)
	}
	sum := b.text("#summary-dns")
	for _, want := range []string{"751 in 34 TLDs", "First change seen", "Last new domain", "Exposure window", "ongoing", "1d to 1d",
		"ns1.rogue-dns.example., ns2.rogue-dns.example.", "Certificates issued in the window", "client-042.it", "download CSV"} {
		if !strings.Contains(sum, want) {
			t.Errorf("the DNS summary lacks %q:\n%s", want, sum)
		}
	}
	if n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll('#tlds li').length`)); err != nil || n != 34 {
		t.Errorf("%d TLD chips (%v), want 34", n, err)
	}
	checks := b.text("#checklist")
	for _, want := range []string{"Revert the 751 changed records at the registries (0 of 751 records back)",
		"vigie dns revert-plan --incident " + itoa(dnsID), "Check the 1 certificate issued in the exposure window"} {
		if !strings.Contains(checks, want) {
			t.Errorf("the checklist lacks %q:\n%s", want, checks)
		}
	}
	shot("incident-dns")

	// The revert plan the summary links to: every hijacked domain, once.
	plan := do(t, newClient(t), "GET", ts.URL+"/incidents/"+itoa(dnsID)+"/revert-plan?format=csv", "", nil)
	rows, err := csv.NewReader(strings.NewReader(plan.body)).ReadAll()
	if err != nil || len(rows) != 752 || rows[0][0] != "domain" || !strings.Contains(plan.hdr.Get("Content-Disposition"), "attachment") {
		t.Errorf("revert plan: %d rows, %v, %q", len(rows), err, plan.hdr.Get("Content-Disposition"))
	}

	// Sorting and paging: by subject, descending; then 50 more.
	b.navigate(ts.URL + "/incidents/" + itoa(dnsID) + "?sort=subject&dir=desc")
	if first := b.text("#alerts tbody tr:first-child td.subject"); first != "client-750.net." {
		t.Errorf("sorted by subject, descending, the first row is %q", first)
	}
	if st := b.submit("#more-alerts"); st != 200 {
		t.Fatalf("more: %d", st)
	}
	if n, _ := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll('#alerts tbody tr').length`)); n != 2*alertsPage {
		t.Errorf("after 'show 50 more': %d rows", n)
	}

	// The stolen password: what it sent after the detection, the listing
	// with its delisting steps, the graph with the habit band.
	b.navigate(ts.URL + "/incidents/" + itoa(mailID))
	mailText := b.text("main")
	for _, want := range []string{"marie@club-asso.example sent", "Sent after the detection", "Microsoft", "https://olcsupport.office.com/",
		"habit band", "detected", "Get 198.51.100.7 off"} {
		if !strings.Contains(mailText, want) {
			t.Errorf("the mail incident lacks %q", want)
		}
	}
	shot("incident-mail")

	b.navigate(ts.URL + "/incidents/" + itoa(webID))
	webText := b.text("main")
	for _, want := range []string{"Drupal 7.57", "attacked", "Attack requests seen", "Mail its uid sent", "CVE-2018-7600"} {
		if !strings.Contains(webText, want) {
			t.Errorf("the web incident lacks %q", want)
		}
	}
	shot("incident-web")

	// The blocklist page shows Microsoft's listing raised by the mail watch.
	b.navigate(ts.URL + "/watches/blocklist")
	if txt := b.text("main"); strings.Contains(txt, "Listed nowhere") || !strings.Contains(txt, "198.51.100.7") {
		t.Errorf("the blocklist page misses the mail watch's listing:\n%s", txt)
	}
	var active []vigie.Alert
	if active, err = f.db.ListAlerts(ctx, store.AlertQuery{IncidentID: dnsID, Limit: 10000}); err != nil || len(active) != 752 {
		t.Errorf("%d alerts in the DNS incident (%v)", len(active), err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
