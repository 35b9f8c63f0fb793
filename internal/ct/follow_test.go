package ct_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/alert"
	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/ct"
	"github.com/vigie/vigie/internal/ct/cttest"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/store/sqlite"
	"github.com/vigie/vigie/internal/task"
	"github.com/vigie/vigie/internal/vigie"
)

type env struct {
	db   *sqlite.DB
	pipe *alert.Pipeline
	ca   *cttest.CA
}

func newEnv(t *testing.T) *env {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "vigie.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ca, err := cttest.NewCA("Let's Encrypt")
	if err != nil {
		t.Fatal(err)
	}
	return &env{db: db, pipe: alert.New(alert.Options{Store: db}), ca: ca}
}

func newLog(t *testing.T) (*cttest.Log, string) {
	t.Helper()
	l, err := cttest.NewLog()
	if err != nil {
		t.Fatal(err)
	}
	l.MaxBatch = 7 // smaller than asked: the client must come back for the rest
	srv := httptest.NewServer(l)
	t.Cleanup(srv.Close)
	return l, srv.URL
}

func ctConfig(logURL, key string, watch ...string) config.CT {
	c := config.Default().CT
	c.Watchlist = watch
	c.Logs = []config.CTLog{{Name: "test", URL: logURL, Key: key, API: "rfc6962"}}
	c.Start = "beginning"
	c.PollInterval = 20 * time.Millisecond
	c.ReloadInterval = 20 * time.Millisecond
	c.BatchSize = 10
	c.VerifyEvery = 25
	c.RateLimit = 0
	return c
}

func (e *env) watch(t *testing.T, c config.CT, sink alert.Sink) *ct.Watch {
	t.Helper()
	if sink == nil {
		sink = e.pipe
	}
	w, err := ct.New(ct.Options{CT: c, Store: e.db, Sink: sink,
		Sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() }})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// run runs w until cond holds (checked every 20 ms, 20 s at most).
func run(t *testing.T, w *ct.Watch, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); w.Run(ctx) }()
	defer func() { cancel(); wg.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 20 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitUntil waits for cond, 20 s at most.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 20 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *env) findings(t *testing.T, rule string) []store.StoredFinding {
	t.Helper()
	fs, err := e.db.ListFindings(context.Background(), store.FindingQuery{Watch: "ct", Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	var out []store.StoredFinding
	for _, f := range fs {
		if f.Rule == rule {
			out = append(out, f)
		}
	}
	return out
}

func (e *env) position(t *testing.T, l *cttest.Log) int64 {
	t.Helper()
	k, _ := ct.ParseLogKey(l.PubB64)
	p, err := ct.Position(context.Background(), e.db, k)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *env) issue(t *testing.T, l *cttest.Log, names ...string) cttest.Pair {
	t.Helper()
	p, err := e.ca.Issue(names, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	tbs, err := ct.PrecertTBS(p.Precert)
	if err != nil {
		t.Fatal(err)
	}
	l.AddPrecert(p.Precert, tbs, e.ca.KeyHash())
	l.AddCert(p.Cert)
	return p
}

func names(fs []store.StoredFinding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Evidence["names"])
	}
	sort.Strings(out)
	return out
}

func TestFollowRFC6962ReportsWatchedCertificatesOnce(t *testing.T) {
	e := newEnv(t)
	l, url := newLog(t)
	e.issue(t, l, "www.example.com", "example.com")
	e.issue(t, l, "www.example.net")
	e.issue(t, l, "xn--bcher-kva.example")
	e.issue(t, l, "sub.exact.net")
	e.issue(t, l, "exact.net")
	e.issue(t, l, "example.com.evil.org")
	e.issue(t, l, "*.example.com")
	l.AddCert([]byte("garbage DER"))
	l.AddRaw([]byte{0, 0, 1, 2})
	for i := 0; i < 30; i++ {
		e.issue(t, l, "filler.unwatched.org")
	}
	size := l.Size()
	w := e.watch(t, ctConfig(url, l.PubB64, "example.com", "Bücher.example", "=exact.net"), nil)
	run(t, w, func() bool { return e.position(t, l) == size })

	got := names(e.findings(t, "certificate"))
	want := []string{"*.example.com", "exact.net", "www.example.com,example.com", "xn--bcher-kva.example"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("certificate findings for %q, want %q", got, want)
	}
	if mal := e.findings(t, "malformed-entry"); len(mal) != 2 {
		t.Errorf("%d malformed-entry findings, want 2", len(mal))
	}
	for _, f := range e.findings(t, "certificate") {
		for _, k := range []string{"sha256", "tbs_sha256", "issuer", "not_before", "not_after", "log", "index", "serial"} {
			if f.Evidence[k] == "" {
				t.Errorf("finding %q has no %s", f.Summary, k)
			}
		}
		if f.Severity != vigie.SeverityWarning {
			t.Errorf("severity %v without expected issuers", f.Severity)
		}
	}
}

func TestTamperedEntryIsAnAlertAndNoProgress(t *testing.T) {
	e := newEnv(t)
	l, url := newLog(t)
	for i := 0; i < 5; i++ {
		e.issue(t, l, "www.example.com")
	}
	l.Tamper[3] = true
	w := e.watch(t, ctConfig(url, l.PubB64, "example.com"), nil)
	run(t, w, func() bool { return len(e.findings(t, "log-inconsistent")) > 0 })
	if n := len(e.findings(t, "certificate")); n != 0 {
		t.Errorf("%d certificates reported from unverified entries", n)
	}
	if p := e.position(t, l); p != 0 {
		t.Errorf("position %d recorded past an inconsistent window", p)
	}
	f := e.findings(t, "log-inconsistent")[0]
	if f.Severity != vigie.SeverityCritical || !strings.Contains(f.Evidence["error"], "signed root") {
		t.Errorf("finding %+v", f.Finding)
	}
}

func TestBadSignatureIsReported(t *testing.T) {
	e := newEnv(t)
	l, url := newLog(t)
	e.issue(t, l, "www.example.com")
	l.BadSignature = true
	w := e.watch(t, ctConfig(url, l.PubB64, "example.com"), nil)
	run(t, w, func() bool { return len(e.findings(t, "log-bad-head")) > 0 })
	if n := len(e.findings(t, "certificate")); n != 0 {
		t.Errorf("%d certificates reported under a bad signature", n)
	}
}

func TestThrottledLogIsRetried(t *testing.T) {
	e := newEnv(t)
	l, url := newLog(t)
	for i := 0; i < 10; i++ {
		e.issue(t, l, "www.example.com")
	}
	l.Throttle.Store(6)
	size := l.Size()
	w := e.watch(t, ctConfig(url, l.PubB64, "example.com"), nil)
	run(t, w, func() bool { return e.position(t, l) == size })
	if n := len(e.findings(t, "certificate")); n != 10 {
		t.Errorf("%d certificates, want 10", n)
	}
	if l.Throttle.Load() > 0 {
		t.Error("the log never throttled")
	}
}

// crashSink fails every Emit after the first n, like a vigie killed
// between emitting findings and recording that it did.
type crashSink struct {
	mu   sync.Mutex
	n    int
	next alert.Sink
}

func (s *crashSink) Emit(ctx context.Context, f vigie.Finding) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == 0 {
		return errors.New("killed")
	}
	s.n--
	return s.next.Emit(ctx, f)
}

func TestResumeNeitherMissesNorRepeats(t *testing.T) {
	e := newEnv(t)
	l, url := newLog(t)
	for i := 0; i < 20; i++ {
		e.issue(t, l, "host.example.com", "n"+string(rune('a'+i))+".example.com")
	}
	c := ctConfig(url, l.PubB64, "example.com")
	c.VerifyEvery = 100 // all 20 certificates in one window
	l.Frozen.Store(30)  // the log's head shows 15 certificates first
	sink := &crashSink{n: 4, next: e.pipe}
	run(t, e.watch(t, c, sink), func() bool { return len(e.findings(t, "certificate")) == 4 })
	// "Killed" after 4 of 15 findings; the window is saved with its
	// pending findings. Restart, then let the log grow.
	run(t, e.watch(t, c, nil), func() bool { return e.position(t, l) == 30 })
	l.Frozen.Store(0)
	run(t, e.watch(t, c, nil), func() bool { return e.position(t, l) == l.Size() })
	got := names(e.findings(t, "certificate"))
	if len(got) != 20 {
		t.Fatalf("%d findings after restarts, want 20: %q", len(got), got)
	}
	for i := 1; i < len(got); i++ {
		if got[i] == got[i-1] {
			t.Errorf("%q reported twice", got[i])
		}
	}
}

func TestStartAtEnd(t *testing.T) {
	for _, size := range []int{1, 4, 9, 33} {
		e := newEnv(t)
		l, url := newLog(t)
		for i := 0; i < size; i++ {
			e.issue(t, l, "old.example.com")
		}
		c := ctConfig(url, l.PubB64, "example.com")
		c.Start = "end"
		w := e.watch(t, c, nil)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); w.Run(ctx) }()
		caughtUp := func() bool { return e.position(t, l) >= l.Size() }
		waitUntil(t, caughtUp)
		e.issue(t, l, "new.example.com")
		waitUntil(t, caughtUp)
		cancel()
		<-done
		got := names(e.findings(t, "certificate"))
		// At most the last entries before the head are read again.
		if len(got) == 0 || got[0] != "new.example.com" || (size > 3 && len(got) > 2) {
			t.Errorf("size %d: findings %q", size, got)
		}
	}
}

func TestWatchlistFileReloadsLive(t *testing.T) {
	e := newEnv(t)
	l, url := newLog(t)
	file := filepath.Join(t.TempDir(), "domains")
	os.WriteFile(file, []byte("example.com ns1.example.net,ns2.example.net\n"), 0o644)
	c := ctConfig(url, l.PubB64)
	c.WatchlistFile = file
	w := e.watch(t, c, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	defer func() { cancel(); <-done }()
	wait := func(cond func() bool) {
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatal("timeout")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	e.issue(t, l, "www.new.org")
	wait(func() bool { return e.position(t, l) == l.Size() })
	os.WriteFile(file, []byte("example.com\nnew.org\n"), 0o644)
	wait(func() bool { return w.Watchlist().Len() == 2 })
	e.issue(t, l, "shop.new.org")
	wait(func() bool { return len(e.findings(t, "certificate")) == 1 })
	if got := names(e.findings(t, "certificate")); got[0] != "shop.new.org" {
		t.Errorf("found %q", got)
	}
}

func TestExpectedIssuers(t *testing.T) {
	e := newEnv(t)
	l, url := newLog(t)
	e.issue(t, l, "a.expected.org")
	e.issue(t, l, "b.unexpected.org")
	c := ctConfig(url, l.PubB64, "expected.org", "unexpected.org")
	c.ExpectedIssuers = map[string][]string{"expected.org": {"letsencrypt.org"}, "unexpected.org": {"digicert.com"}}
	size := l.Size()
	run(t, e.watch(t, c, nil), func() bool { return e.position(t, l) == size })
	for _, f := range e.findings(t, "certificate") {
		want := vigie.SeverityInfo
		if f.Subject == "unexpected.org" {
			want = vigie.SeverityCritical
		}
		if f.Severity != want {
			t.Errorf("%s: severity %v, want %v", f.Subject, f.Severity, want)
		}
	}
}

func TestCertificateLinkedToOpenDNSIncident(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// The DNS watch saw the NS of example.com change to a rogue set.
	dns := vigie.Finding{Watch: "dns", Rule: "ns-changed", Subject: "example.com", Group: "dns/rogue-ns/ns1.evil.test",
		Severity: vigie.SeverityCritical, Time: time.Now().Add(-30 * time.Minute), Summary: "NS changed"}
	if err := e.pipe.Emit(ctx, dns); err != nil {
		t.Fatal(err)
	}
	in, ok, err := ct.IncidentFor(ctx, e.db, []string{"www.example.com"}, time.Now(), time.Hour)
	if err != nil || !ok || in.Key != "dns/rogue-ns/ns1.evil.test" {
		t.Fatalf("IncidentFor: %+v %v %v", in, ok, err)
	}
	if _, ok, _ := ct.IncidentFor(ctx, e.db, []string{"www.example.org"}, time.Now(), time.Hour); ok {
		t.Error("another domain linked")
	}
	if _, ok, _ := ct.IncidentFor(ctx, e.db, []string{"www.example.com"}, time.Now().Add(-48*time.Hour), time.Hour); ok {
		t.Error("a certificate issued long before the incident linked")
	}

	l, url := newLog(t)
	e.issue(t, l, "www.example.com")
	size := l.Size()
	run(t, e.watch(t, ctConfig(url, l.PubB64, "example.com"), nil), func() bool { return e.position(t, l) == size })
	fs := e.findings(t, "certificate")
	if len(fs) != 1 || fs[0].Group != in.Key || fs[0].Severity != vigie.SeverityCritical {
		t.Fatalf("findings %+v", fs)
	}
	a, err := e.db.Alert(ctx, fs[0].AlertID)
	if err != nil || a.IncidentID != in.ID {
		t.Errorf("certificate alert in incident %d, want %d (%v)", a.IncidentID, in.ID, err)
	}
}

func TestBrokenJSONIsRetriedAndTheWatchGoesOn(t *testing.T) {
	e := newEnv(t)
	l, url := newLog(t)
	for i := 0; i < 3; i++ {
		e.issue(t, l, "www.example.com")
	}
	l.BrokenJSON.Store(true)
	w := e.watch(t, ctConfig(url, l.PubB64, "example.com"), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitUntil(t, func() bool { return l.Requests.Load() >= 10 })
	if p := e.position(t, l); p != 0 {
		t.Fatalf("position %d from broken answers", p)
	}
	l.BrokenJSON.Store(false)
	deadline := time.Now().Add(10 * time.Second)
	for e.position(t, l) != l.Size() {
		if time.Now().After(deadline) {
			t.Fatal("did not recover from broken JSON")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := len(e.findings(t, "certificate")); n != 3 {
		t.Errorf("%d findings, want 3", n)
	}
}

func TestWatchlistFileAppearsLater(t *testing.T) {
	e := newEnv(t)
	l, url := newLog(t)
	file := filepath.Join(t.TempDir(), "inventory")
	c := ctConfig(url, l.PubB64, "example.com")
	c.WatchlistFile = file
	w := e.watch(t, c, nil)
	if w.Watchlist().Len() != 1 {
		t.Fatalf("%d domains before the file exists", w.Watchlist().Len())
	}
	os.WriteFile(file, []byte("later.org\nlater.net\n"), 0o644)
	run(t, w, func() bool { return w.Watchlist().Len() == 3 })
}

func TestKnownGoodIsNotReported(t *testing.T) {
	e := newEnv(t)
	l, url := newLog(t)
	good := e.issue(t, l, "www.example.com")
	e.issue(t, l, "shop.example.com")
	both := e.issue(t, l, "api.example.com")
	sum := sha256.Sum256(good.Cert)
	if _, err := ct.MarkKnownGood(context.Background(), e.db, e.pipe, hex.EncodeToString(sum[:]), "admin", "our renewal", time.Now()); err != nil {
		t.Fatal(err)
	}
	// The TBS hash names the precertificate and the certificate at once.
	tbs, _ := ct.PrecertTBS(both.Precert)
	tsum := sha256.Sum256(tbs)
	if _, err := ct.MarkKnownGood(context.Background(), e.db, e.pipe, hex.EncodeToString(tsum[:]), "admin", "", time.Now()); err != nil {
		t.Fatal(err)
	}
	size := l.Size()
	run(t, e.watch(t, ctConfig(url, l.PubB64, "example.com"), nil), func() bool { return e.position(t, l) == size })
	// The final certificate is known-good; its precertificate, logged
	// first, is the same certificate but has another fingerprint, so only
	// a TBS hash mark covers both. Marking the certificate's SHA-256
	// still silences the certificate entry itself.
	for _, f := range e.findings(t, "certificate") {
		if f.Evidence["sha256"] == hex.EncodeToString(sum[:]) {
			t.Errorf("known-good certificate reported: %s", f.Summary)
		}
	}
	if got := names(e.findings(t, "certificate")); len(got) != 2 || got[0] != "shop.example.com" {
		t.Errorf("findings %q", got)
	}
}

// panicOnEntries is an HTTP transport whose get-entries panics once, in the
// goroutine that asked: an entries fetcher (as a parser bug on a log's
// hostile entries would).
type panicOnEntries struct{ armed atomic.Bool }

func (p *panicOnEntries) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/get-entries") && p.armed.CompareAndSwap(true, false) {
		panic("injected panic reading entries")
	}
	return http.DefaultTransport.RoundTrip(r)
}

// A panic in an entries fetcher (one of the goroutines a follower fans out
// per range) does not kill the process: it reaches the follower, and the
// watch's Run returns it naming the fetcher and its frame, which makes the
// supervisor restart the CT watch. Run again, it reads the log.
func TestEntriesFetcherPanicReturnsAsTheWatchsError(t *testing.T) {
	e := newEnv(t)
	l, url := newLog(t)
	for i := 0; i < 5; i++ {
		p, _ := e.ca.Issue([]string{fmt.Sprintf("h%d.example.org", i)}, time.Now())
		l.AddCert(p.Cert)
	}
	rt := &panicOnEntries{}
	rt.armed.Store(true)
	newWatch := func() *ct.Watch {
		w, err := ct.New(ct.Options{CT: ctConfig(url, l.PubB64, "example.org"), Store: e.db, Sink: e.pipe,
			Client: &http.Client{Transport: rt}, Sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() }})
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := newWatch().Run(ctx)
	if !task.IsPanic(err) || !strings.Contains(err.Error(), "ct entries fetcher panicked: injected panic reading entries") ||
		!strings.Contains(err.Error(), "ct.(*follower).fetchRange") {
		t.Fatalf("Run returned %.800v", err)
	}
	run(t, newWatch(), func() bool { return len(e.findings(t, "certificate")) == 5 })
}
