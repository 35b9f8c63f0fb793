package ui

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/vigie/vigie/internal/alert"
	"github.com/vigie/vigie/internal/mail"
	"github.com/vigie/vigie/internal/testutil"
	"github.com/vigie/vigie/internal/vigie"
)

// These tests drive the Debian chromium through the DevTools protocol:
// the real browser enforces (or not) the cookies' flags, the CSP, the
// Origin header and HTML parsing, which no Go client would.

// testCert writes a self-signed certificate for 127.0.0.1 and returns the
// files and the base64 SHA-256 of its public key, which Chromium is told
// to trust (--ignore-certificate-errors-spki-list), and nothing else.
func testCert(t *testing.T) (certFile, keyFile, spki string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vigie test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	kb, _ := x509.MarshalECPrivateKey(key)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return certFile, keyFile, base64.StdEncoding.EncodeToString(sum[:])
}

// serveTLS serves h over TLS on 127.0.0.1 with the certificate files, the
// way the daemon does (TLSConfig), and returns the base URL.
func serveTLS(t *testing.T, h http.Handler, certFile, keyFile string) string {
	t.Helper()
	tc, err := TLSConfig(certFile, keyFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(tls.NewListener(ln, tc))
	t.Cleanup(func() { srv.Close() })
	return "https://" + ln.Addr().String()
}

// browser is one headless Chromium with a fresh profile.
type browser struct {
	t       *testing.T
	ctx     context.Context
	mu      sync.Mutex
	dialogs []string
	shots   string
}

func newBrowser(t *testing.T, spki string) *browser {
	t.Helper()
	path := testutil.RequireProgram(t, "chromium")
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("disable-extensions", true),
		chromedp.UserDataDir(t.TempDir()),
	}
	if spki != "" {
		opts = append(opts, chromedp.Flag("ignore-certificate-errors-spki-list", spki))
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, tcancel := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { tcancel(); cancel(); acancel() })
	b := &browser{t: t, ctx: ctx, shots: t.ArtifactDir()}
	// Any dialog (alert, confirm, prompt) is a script that ran: record and
	// dismiss it so the page does not hang.
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.dialogs = append(b.dialogs, ev.Message)
			b.mu.Unlock()
			chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return b
}

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatal(err)
	}
}

// submit clicks a button that posts a form and waits for the next page.
func (b *browser) submit(sel string) int64 {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("clicking %s: %v", sel, err)
	}
	return resp.Status
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("reading %s: %v", sel, err)
	}
	return s
}

func (b *browser) location() string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return s
}

func (b *browser) screenshot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(b.shots, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", p)
}

func (b *browser) navigate(u string) int64 {
	b.t.Helper()
	resp, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(u))
	if err != nil {
		b.t.Fatalf("navigating to %s: %v", u, err)
	}
	return resp.Status
}

// TestBrowserLoginIncidentHoldAudit is the admin's path over HTTPS: log
// in with a password and a TOTP code, see the incident, acknowledge it,
// write a note, hold the account's mail, find it all in the audit log.
func TestBrowserLoginIncidentHoldAudit(t *testing.T) {
	f := newFixtureWith(t, func(o *Options) { o.Login, o.SecureCookies = true, true })
	certFile, keyFile, spki := testCert(t)
	base := serveTLS(t, f.srv.Handler(), certFile, keyFile)
	u := addUser(t, f, "alice")
	now := f.clock.Now()
	f.emit(t,
		vigie.Finding{Watch: "mail", Rule: "account-volume", Subject: "marie@club.example", Group: alert.AccountGroup("marie@club.example"), Severity: vigie.SeverityCritical,
			Time: now.Add(-2 * time.Hour), Summary: "marie@club.example sends a mail a second", Evidence: map[string]string{"rate_per_min": "60"}},
		vigie.Finding{Watch: "mail", Rule: "queue-growth", Subject: "deferred", Group: alert.AccountGroup("marie@club.example"), Severity: vigie.SeverityWarning,
			Time: now.Add(-time.Hour), Summary: "deferred queue at 1850"},
	)
	var samples []vigie.Sample
	for i := range 24 * 12 {
		at := now.Add(-24 * time.Hour).Add(time.Duration(i) * 5 * time.Minute)
		v := float64(i % 5)
		if i > 24*12-24 {
			v = float64(i-(24*12-24)) * 80
		}
		samples = append(samples, vigie.Sample{Series: string(mail.SeriesQueue), Subject: "deferred", Time: at, Value: v},
			vigie.Sample{Series: string(mail.SeriesAccountMessages), Subject: "marie@club.example", Time: at, Value: v / 30})
	}
	if err := f.db.AddSamples(context.Background(), samples); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t, spki)
	b.navigate(base + "/")
	if loc := b.location(); !strings.HasPrefix(loc, base+"/login") {
		t.Fatalf("not sent to the login page: %s", loc)
	}
	b.screenshot("01-login")
	if cs, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{}); err == nil {
		for _, c := range cs.Cookies {
			t.Logf("cookie %s secure=%v", c.Name, c.Secure)
		}
	} else {
		t.Log(err)
	}

	// A wrong code first: refused, still on the login page.
	b.do(chromedp.SendKeys(chromedp.ID("user"), "alice"), chromedp.SendKeys(chromedp.ID("password"), "correct horse battery"),
		chromedp.SendKeys(chromedp.ID("code"), "000000"))
	if st := b.submit("#login"); st != http.StatusUnauthorized {
		t.Fatalf("wrong code: status %d: %s", st, b.text("main"))
	}
	if msg := b.text(".error"); !strings.Contains(msg, "wrong user name, password or code") {
		t.Fatalf("wrong code message: %q", msg)
	}
	b.do(chromedp.SendKeys(chromedp.ID("user"), "alice"), chromedp.SendKeys(chromedp.ID("password"), "correct horse battery"),
		chromedp.SendKeys(chromedp.ID("code"), code(t, u, time.Now())))
	if st := b.submit("#login"); st != 200 {
		t.Fatalf("login: status %d", st)
	}
	if loc := b.location(); loc != base+"/" {
		t.Fatalf("after login at %s", loc)
	}
	// The session cookie is Secure, HttpOnly, SameSite=Strict: scripts
	// cannot read it.
	if c, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string]("document.cookie")); strings.Contains(c, "vigie_session") {
		t.Errorf("the session cookie is readable from script: %q", c)
	}
	if txt := b.text("main"); !strings.Contains(txt, "marie@club.example sends a mail a second") || !strings.Contains(txt, "Mail queue") {
		t.Fatalf("overview lacks the incident or the queue graph: %s", txt)
	}
	if n, _ := chromedp.Run(b.ctx, chromedp.Evaluate[int]("document.querySelectorAll('figure.graph svg polyline').length")); n == 0 {
		t.Error("no graph line on the overview")
	}
	b.screenshot("02-overview")
	b.do(chromedp.EmulateViewport(390, 844))
	b.screenshot("02-overview-phone")
	b.do(chromedp.EmulateViewport(1280, 900))

	b.navigate(base + "/incidents")
	b.screenshot("03-incidents")
	if _, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.CSS(`a[href="/incidents/1"]`))); err != nil {
		t.Fatal(err)
	}
	b.screenshot("04-incident")
	if st := b.submit("#ack"); st != 200 {
		t.Fatalf("acknowledge: %d", st)
	}
	if txt := b.text(".meta"); !strings.Contains(txt, "acknowledged by alice") {
		t.Errorf("incident after acknowledge: %q", txt)
	}
	b.do(chromedp.SendKeys(chromedp.ID("note-text"), "Changed marie's password, purging the queue."))
	if st := b.submit("#add-note"); st != 200 {
		t.Fatalf("note: %d", st)
	}
	if txt := b.text("ol.timeline"); !strings.Contains(txt, "Changed marie's password") || !strings.Contains(txt, "acknowledged by alice") {
		t.Errorf("timeline: %s", txt)
	}
	// Hold from the incident page's per-account button.
	if st := b.submit(`button.hold[data-account="marie@club.example"]`); st != 200 {
		t.Fatalf("hold: %d", st)
	}
	if got := f.mail.Calls(); len(got) != 1 || got[0] != "hold marie@club.example" {
		t.Fatalf("mail actions = %v", got)
	}
	if txt := b.text("ol.timeline"); !strings.Contains(txt, "mail.hold marie@club.example") {
		t.Errorf("timeline lacks the hold: %s", txt)
	}
	b.screenshot("05-incident-acted")

	b.navigate(base + "/watches/mail?range=day")
	if txt := b.text("#mail-actions"); !strings.Contains(txt, "marie@club.example") {
		t.Errorf("mail page does not list the held account: %s", txt)
	}
	b.screenshot("06-mail")
	b.navigate(base + "/alerts?state=active")
	b.screenshot("07-alerts")
	b.navigate(base + "/alerts/1")
	b.screenshot("08-alert")
	for _, w := range []string{"dns", "ct", "web", "blocklist"} {
		b.navigate(base + "/watches/" + w)
		b.screenshot("09-watch-" + w)
	}

	b.navigate(base + "/audit")
	txt := b.text("#audit")
	for _, want := range []string{"user.login", "incident.acknowledge", "incident.note", "mail.hold", "marie@club.example"} {
		if !strings.Contains(txt, want) {
			t.Errorf("audit page lacks %q: %s", want, txt)
		}
	}
	if strings.Count(txt, "alice") < 4 {
		t.Errorf("audit entries do not name alice: %s", txt)
	}
	b.screenshot("10-audit")

	// A page on another origin posting to the dashboard with the
	// browser's own cookies: refused, and nothing is written.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<form id=f method=post action="%s/incidents/1/note"><input name=text value="csrf-attack"></form>
<script>document.getElementById('f').submit()</script>`, base)
	}))
	defer evil.Close()
	b.navigate(evil.URL)
	time.Sleep(time.Second) // the form posts itself after load
	tl, _ := f.db.Timeline(context.Background(), 1)
	for _, e := range tl {
		if strings.Contains(e.Text, "csrf-attack") {
			t.Fatal("a cross-origin post wrote a note")
		}
	}
	b.screenshot("11-cross-origin-refused")

	// Logging out ends the session.
	b.navigate(base + "/")
	if st := b.submit(`form[action="/logout"] button`); st != 200 {
		t.Fatalf("logout: %d", st)
	}
	b.navigate(base + "/incidents")
	if loc := b.location(); !strings.HasPrefix(loc, base+"/login") {
		t.Errorf("after logout at %s", loc)
	}
	if len(b.dialogs) != 0 {
		t.Errorf("dialogs opened: %v", b.dialogs)
	}
}

// TestBrowserHostileTextStaysText puts script payloads in everything a
// watch stores from outside (sender, HELO, URL path, TXT record,
// certificate name, a note) and checks in the browser that every page
// shows them as text and that none of them ran.
func TestBrowserHostileTextStaysText(t *testing.T) {
	f := newFixture(t, false)
	ts := httptest.NewServer(f.srv.Handler())
	defer ts.Close()
	f.emit(t, hostileFindings(f.clock.Now())...)
	f.db.AddSamples(context.Background(), []vigie.Sample{
		{Series: string(mail.SeriesAccountMessages), Subject: hostile["sender"], Time: f.clock.Now().Add(-time.Minute), Value: 60},
		{Series: "web_requests", Subject: "site.example" + hostile["path"], Time: f.clock.Now().Add(-time.Minute), Value: 9}})
	b := newBrowser(t, "")
	// A note with a payload, written through the browser.
	b.navigate(ts.URL + "/incidents/1")
	b.do(chromedp.SendKeys(chromedp.ID("note-text"), `<img src=x onerror=alert(6)>`))
	if st := b.submit("#add-note"); st != 200 {
		t.Fatalf("note: %d", st)
	}
	// Cookies and CSP violations are reported by the page's console; a
	// script that ran would set window.__xss or open a dialog.
	for _, p := range pagePaths {
		b.navigate(ts.URL + p)
		res, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(function(){
			var bad = [];
			if (typeof window.__xss !== 'undefined') bad.push('window.__xss=' + window.__xss);
			if (parent.__xss !== undefined) bad.push('parent.__xss');
			document.querySelectorAll('script').forEach(function(s){ if (!s.src || !s.src.endsWith('/static/app.js')) bad.push('script element ' + s.outerHTML.slice(0,80)); });
			document.querySelectorAll('iframe,img,svg[onload],style,textarea').forEach(function(e){
				if (e.tagName === 'TEXTAREA' && e.id === 'note-text') return;
				bad.push('element ' + e.tagName);
			});
			document.querySelectorAll('*').forEach(function(e){ for (var i=0;i<e.attributes.length;i++){ if (/^on/i.test(e.attributes[i].name)) bad.push('handler ' + e.attributes[i].name); } });
			return bad.join('; ');
		})()`))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if res != "" {
			t.Errorf("%s: %s", p, res)
		}
	}
	b.navigate(ts.URL + "/watches/mail")
	if txt := b.text("main"); !strings.Contains(txt, hostile["sender"]) || !strings.Contains(txt, hostile["helo"]) {
		t.Errorf("the sender and HELO are not shown as text: %s", txt)
	}
	b.screenshot("xss-mail")
	b.navigate(ts.URL + "/watches/dns")
	if txt := b.text("main"); !strings.Contains(txt, hostile["txt"]) {
		t.Errorf("the TXT record is not shown as text")
	}
	b.screenshot("xss-dns")
	b.navigate(ts.URL + "/watches/ct")
	if txt := b.text("main"); !strings.Contains(txt, hostile["certname"]) {
		t.Errorf("the certificate name is not shown as text")
	}
	b.navigate(ts.URL + "/watches/web")
	if txt := b.text("main"); !strings.Contains(txt, hostile["path"]) {
		t.Errorf("the URL path is not shown as text")
	}
	b.navigate(ts.URL + "/incidents/1")
	if txt := b.text("ol.timeline"); !strings.Contains(txt, `<img src=x onerror=alert(6)>`) {
		t.Errorf("the note is not shown as text: %s", txt)
	}
	b.screenshot("xss-incident")
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.dialogs) != 0 {
		t.Errorf("a payload opened dialogs: %v", b.dialogs)
	}
}

var _ = errors.New
