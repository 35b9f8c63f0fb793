package app

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/ct/cttest"
	"github.com/vigie/vigie/internal/dnswatch"
	"github.com/vigie/vigie/internal/dnswatch/knottest"
	"github.com/vigie/vigie/internal/mail"
	"github.com/vigie/vigie/internal/store"
	vtestutil "github.com/vigie/vigie/internal/testutil"
	"github.com/vigie/vigie/internal/webapps"
)

// faultStore is the app's store with one fault armed at a time: the next
// call matching it panics (or fails), on whatever goroutine made it. Each
// store call below is made by one goroutine of a watch only (the mail
// follower saves the cursor, the ticker the habits, the queue reader the
// top senders, a CT follower loads its log's state), so the panic lands
// where the test wants it, as a parser bug on a hostile line would.
type faultStore struct {
	store.Store
	mu    sync.Mutex
	op    string // "put" or "get"
	watch string
	key   string // prefix
	fail  int    // >0: return an error this many times instead of panicking
	fired atomic.Int32
}

func (f *faultStore) arm(op, watch, key string, fail int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.op, f.watch, f.key, f.fail = op, watch, key, fail
}

func (f *faultStore) trip(op, watch, key string) (panicNow bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.op != op || f.watch != watch || !strings.HasPrefix(key, f.key) {
		return false, nil
	}
	f.fired.Add(1)
	if f.fail > 0 {
		f.fail--
		if f.fail == 0 {
			f.op = ""
		}
		return false, fmt.Errorf("injected: the store cannot read %s/%s", watch, key)
	}
	f.op = ""
	return true, nil
}

func (f *faultStore) PutState(ctx context.Context, watch, key string, v []byte) error {
	if p, err := f.trip("put", watch, key); p {
		panic("injected panic saving " + watch + "/" + key)
	} else if err != nil {
		return err
	}
	return f.Store.PutState(ctx, watch, key, v)
}

func (f *faultStore) GetState(ctx context.Context, watch, key string) ([]byte, error) {
	if p, err := f.trip("get", watch, key); p {
		panic("injected panic loading " + watch + "/" + key)
	} else if err != nil {
		return nil, err
	}
	return f.Store.GetState(ctx, watch, key)
}

// askPolicy sends one Postfix policy request and returns the action.
func askPolicy(addr, user string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	fmt.Fprintf(c, "request=smtpd_access_policy\nprotocol_state=END-OF-MESSAGE\nprotocol_name=ESMTP\nclient_address=192.0.2.7\n"+
		"sasl_username=%s\nsender=%s\nrecipient_count=1\nqueue_id=4F2A1C03B1\n\n", user, user)
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(line), nil
}

// policyProbe asks the policy server every few milliseconds until stopped
// and counts the requests that got no answer.
type policyProbe struct {
	asked, failed atomic.Int64
	lastErr       atomic.Value
	stop          chan struct{}
	done          chan struct{}
}

func probePolicy(addr string) *policyProbe {
	p := &policyProbe{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for i := 0; ; i++ {
			select {
			case <-p.stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			p.asked.Add(1)
			if a, err := askPolicy(addr, fmt.Sprintf("member%d@example.org", i%40)); err != nil || !strings.HasPrefix(a, "action=") {
				p.failed.Add(1)
				p.lastErr.Store(fmt.Sprint(a, err))
			}
		}
	}()
	return p
}

func (p *policyProbe) finish(t *testing.T) {
	t.Helper()
	// A loaded machine may have asked little so far: ask a few more.
	for deadline := time.Now().Add(10 * time.Second); p.asked.Load() < 10 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	close(p.stop)
	<-p.done
	if p.asked.Load() < 10 || p.failed.Load() > 0 {
		t.Errorf("policy server: %d of %d requests unanswered (last: %v)", p.failed.Load(), p.asked.Load(), p.lastErr.Load())
	}
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// A panic in each goroutine the mail watch starts (the log follower, the
// ticker) restarts the mail watch only: the policy server, another watch
// of the same daemon, answers every request throughout.
func TestMailPanicsRestartTheMailWatchOnly(t *testing.T) {
	dir := t.TempDir()
	logFile := filepath.Join(dir, "mail.log")
	line := func(i int) string {
		return fmt.Sprintf("Oct  3 10:%02d:%02d mx postfix/smtpd[%d]: connect from unknown[192.0.2.%d]\n", i/60%60, i%60, 1000+i, i%250+1)
	}
	os.WriteFile(logFile, []byte(line(0)), 0o640)
	cfg := config.Default()
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Notify.Log.Enabled = false
	cfg.Mail.Enabled, cfg.Mail.Source, cfg.Mail.LogFile, cfg.Mail.PollInterval = config.SwitchOn, "file", logFile, 20*time.Millisecond
	cfg.Mail.Queue.Enabled = config.SwitchOff
	cfg.Policy.Enabled = config.SwitchOn
	policyAddr := freePort(t)
	cfg.Policy.Listen = []string{policyAddr}

	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	var faults *faultStore
	mailBuilder := func(d Deps) ([]Watch, error) {
		if faults == nil {
			faults = &faultStore{Store: d.Store}
		}
		w, err := mail.New(context.Background(), mail.Options{Config: d.Config.Mail, Store: faults, Sink: d.Sink,
			Logger: d.Logger, Metrics: d.Metrics, Now: now, TickEvery: 20 * time.Millisecond})
		if w == nil || err != nil {
			return nil, err
		}
		return []Watch{w}, nil
	}
	h := start(t, cfg, mailBuilder, buildPolicy)
	eventually(t, "the policy server", func() bool { _, err := askPolicy(policyAddr, "a@example.org"); return err == nil })
	probe := probePolicy(policyAddr)
	defer probe.finish(t)

	appendLines := func(from, n int) {
		f, _ := os.OpenFile(logFile, os.O_APPEND|os.O_WRONLY, 0)
		for i := from; i < from+n; i++ {
			f.WriteString(line(i))
		}
		f.Close()
	}
	restarts := func() float64 { return testutil.ToFloat64(h.app.watchRestarts.WithLabelValues("mail")) }
	lastErr := func() string {
		for _, s := range h.app.Watches(now()) {
			if s.Name == "mail" {
				return s.LastError
			}
		}
		return ""
	}
	for i, c := range []struct {
		goroutine  string
		key        string
		provoke    func()
		stackFrame string
	}{
		{"mail follower", "cursor", func() { appendLines(100, 50) }, "mail.(*FileFollower)"},
		{"mail ticker", "habits", func() { clock.Add(int64(11 * time.Minute)) }, "mail.(*Watch).tick"},
	} {
		before := restarts()
		time.Sleep(100 * time.Millisecond) // the watch runs again
		faults.arm("put", "mail", c.key, 0)
		c.provoke()
		eventually(t, c.goroutine+"'s panic to restart the mail watch", func() bool { return restarts() > before })
		if e := lastErr(); !strings.Contains(e, c.goroutine+" panicked") || !strings.Contains(e, c.stackFrame) {
			t.Errorf("case %d: the mail watch's last error does not say %q panicked in %s:\n%.600s", i, c.goroutine, c.stackFrame, e)
		}
		eventually(t, "the mail watch up again", func() bool { return testutil.ToFloat64(h.app.watchUp.WithLabelValues("mail")) == 1 })
	}
	if r := testutil.ToFloat64(h.app.watchRestarts.WithLabelValues("policy")); r != 0 {
		t.Errorf("the policy watch restarted %v times", r)
	}
	// The restarted mail watch still reads the log.
	appendLines(200, 5)
	eventually(t, "the mail watch to read again", func() bool {
		b, err := h.app.Store().GetState(context.Background(), "mail", "cursor")
		return err == nil && len(b) > 0 && faults.fired.Load() == 2
	})
}

// flakyListener is a real TCP listener whose Accept panics, or fails for
// good (the socket's file descriptor gone), when told to.
type flakyListener struct {
	net.Listener
	mode *atomic.Value // "", "panic" or "fail"
}

func (l flakyListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	switch l.mode.Swap("") {
	case "panic":
		if c != nil {
			c.Close()
		}
		panic("injected panic in the policy listener")
	case "fail":
		if c != nil {
			c.Close()
		}
		return nil, fmt.Errorf("accept: %w", os.ErrClosed)
	}
	return c, err
}

// policyOnFlakyListener runs the real policy server on flakyListeners,
// a new one on each (re)start, as Run would.
type policyOnFlakyListener struct {
	srv interface {
		Serve(context.Context, ...net.Listener) error
	}
	addr string
	mode *atomic.Value
}

func (p *policyOnFlakyListener) Name() string { return "policy" }
func (p *policyOnFlakyListener) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		return err
	}
	return p.srv.Serve(ctx, flakyListener{Listener: ln, mode: p.mode})
}

// A panic in the policy listener, and a listener that fails for good,
// restart the policy watch, which shows down meanwhile and listens again.
func TestPolicyListenerPanicAndFailureRestartIt(t *testing.T) {
	cfg := config.Default()
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Notify.Log.Enabled = false
	cfg.Policy.Enabled = config.SwitchOn
	addr := freePort(t)
	cfg.Policy.Listen = []string{addr}
	mode := &atomic.Value{}
	mode.Store("")
	builder := func(d Deps) ([]Watch, error) {
		ws, err := buildPolicy(d)
		if err != nil || len(ws) != 1 {
			return nil, fmt.Errorf("policy: %v %v", ws, err)
		}
		srv := ws[0].(interface {
			Serve(context.Context, ...net.Listener) error
		})
		return []Watch{&policyOnFlakyListener{srv: srv, addr: addr, mode: mode}}, nil
	}
	h := start(t, cfg, builder)
	restarts := func() float64 { return testutil.ToFloat64(h.app.watchRestarts.WithLabelValues("policy")) }
	state := func() (bool, string) {
		for _, s := range h.app.Watches(time.Now()) {
			if s.Name == "policy" {
				return s.Up, s.LastError
			}
		}
		return false, ""
	}
	for i, m := range []string{"panic", "fail"} {
		eventually(t, "the policy server answering", func() bool { _, err := askPolicy(addr, "a@example.org"); return err == nil })
		mode.Store(m)
		askPolicy(addr, "b@example.org") // this connection hits the fault
		eventually(t, "the policy watch restarted after the "+m, func() bool { return restarts() == float64(i+1) })
		_, e := state()
		want := map[string]string{"panic": "panicked: injected panic in the policy listener", "fail": "listener 127.0.0.1"}[m]
		if !strings.Contains(e, want) {
			t.Errorf("after the %s, the policy watch's last error is %.300q, want %q", m, e, want)
		}
	}
	eventually(t, "the policy server answering again", func() bool {
		up, _ := state()
		_, err := askPolicy(addr, "c@example.org")
		return up && err == nil
	})
}

// A CT log whose state fails to load is retried (and shows blind while it
// is not polled); a panic in a CT follower restarts the CT watch only.
func TestCTFollowerStateFailureIsRetriedAndPanicRestarts(t *testing.T) {
	l, err := cttest.NewLog()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(l)
	defer srv.Close()
	ca, _ := cttest.NewCA("Test CA")
	issue := func(i int) {
		c, _ := ca.Issue([]string{fmt.Sprintf("host%02d.example.com", i)}, time.Now())
		l.AddCert(c.Cert)
	}
	for i := 0; i < 3; i++ {
		issue(i)
	}
	cfg := config.Default()
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Notify.Log.Enabled = false
	cfg.CT.Watchlist = []string{"example.com"}
	cfg.CT.Start, cfg.CT.PollInterval, cfg.CT.LeaseTTL = "beginning", 50*time.Millisecond, 300*time.Millisecond
	cfg.CT.MissedPolls = 4
	cfg.CT.Logs = []config.CTLog{{Name: "test", URL: srv.URL, Key: l.PubB64, API: "rfc6962"}}
	faults := &faultStore{}
	faults.arm("get", "ct", "log/", 3) // the log's state does not load, three times
	builder := func(d Deps) ([]Watch, error) {
		faults.Store = d.Store
		d.Store = faults
		return buildCT(d)
	}
	h := start(t, cfg, builder)
	certs := func() int {
		as, _ := h.app.Store().ListAlerts(context.Background(), store.AlertQuery{Watch: "ct", Limit: 1000})
		return len(as)
	}
	eventually(t, "the log followed after its state failed to load 3 times", func() bool { return certs() == 3 && faults.fired.Load() >= 3 })
	if r := testutil.ToFloat64(h.app.watchRestarts.WithLabelValues("ct")); r != 0 {
		t.Errorf("a state that fails to load restarted the watch %v times; it should retry the log", r)
	}
	// A panic in the follower (saving the log's state after new entries).
	faults.arm("put", "ct", "log/", 0)
	issue(3)
	eventually(t, "the CT watch restarted by the follower's panic", func() bool {
		return testutil.ToFloat64(h.app.watchRestarts.WithLabelValues("ct")) == 1
	})
	for _, s := range h.app.Watches(time.Now()) {
		if s.Name == "ct" && !strings.Contains(s.LastError, "ct follower test panicked") {
			t.Errorf("ct's last error: %.300q", s.LastError)
		}
	}
	issue(4)
	eventually(t, "the restarted watch to follow the log again", func() bool { return certs() == 5 })
}

// A panic in each goroutine the web watch starts (an access log follower,
// the scanner) restarts the web watch only: the DNS watch of the same
// daemon keeps sweeping and the policy server answers every request
// throughout. (The DNS watch's goroutines, its sweep workers, serial
// checks, socket readers and senders and lease keeper, are shown to turn
// a panic into the watch's error, what makes the supervisor restart it,
// by dnswatch's TestDNSPanicsReturnAsTheWatchsError: its shards and
// leases need PostgreSQL in the app, and its workers have no store call
// to fault.)
func TestWebPanicsRestartTheWebWatchOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("starts knotd")
	}
	lab := knottest.NewLab(t, []string{"alpha."}, 4)
	dir := t.TempDir()
	root := filepath.Join(dir, "www")
	vtestutil.CopyTree(t, filepath.Join("..", "webapps", "testdata", "sites", "wordpress"), filepath.Join(root, "site"), 0o644)
	accessLog := filepath.Join(dir, "access.log")
	os.WriteFile(accessLog, nil, 0o640)

	cfg := config.Default()
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Notify.Log.Enabled = false
	cfg.Policy.Enabled = config.SwitchOn
	policyAddr := freePort(t)
	cfg.Policy.Listen = []string{policyAddr}
	cfg.Web.Enabled, cfg.Web.Roots, cfg.Web.CheckInterval = config.SwitchOn, []string{root}, 50*time.Millisecond
	cfg.Web.AccessLogs = []config.AccessLog{{Path: accessLog}}
	cfg.DNS.Domains = lab.Domains
	cfg.DNS.Parents = lab.Parents()
	cfg.DNS.ChildPort = lab.Port()
	cfg.DNS.ParentInterval = 100 * time.Millisecond
	faults := &faultStore{}
	web := func(d Deps) ([]Watch, error) {
		faults.Store = d.Store
		d.Store = faults
		return webapps.Build(d)
	}
	h := start(t, cfg, buildPolicy, web, func(d Deps) ([]Watch, error) { return dnswatch.Build(d) })
	eventually(t, "the policy server", func() bool { _, err := askPolicy(policyAddr, "a@example.org"); return err == nil })
	probe := probePolicy(policyAddr)
	defer probe.finish(t)

	restarts := func(w string) float64 { return testutil.ToFloat64(h.app.watchRestarts.WithLabelValues(w)) }
	lastErr := func(w string) string {
		for _, s := range h.app.Watches(time.Now()) {
			if s.Name == w {
				return s.LastError
			}
		}
		return ""
	}
	hits := 0
	for _, c := range []struct {
		watch, goroutine, op, key string
		provoke                   func()
		frame                     string
	}{
		{"web", "web access log follower", "put", "cursor:", func() {
			f, _ := os.OpenFile(accessLog, os.O_APPEND|os.O_WRONLY, 0)
			for range 3 {
				hits++
				fmt.Fprintf(f, "192.0.2.%d - - [04/Dec/2026:17:50:%02d +0000] \"GET /?p=%d HTTP/1.1\" 200 512 \"-\" \"Mozilla/5.0\"\n", hits%250+1, hits%60, hits)
			}
			f.Close()
		}, "webapps.(*Watch).follow"},
		{"web", "web scanner", "put", "data", func() {
			v := filepath.Join(root, "site", "wp-includes", "version.php")
			b, _ := os.ReadFile(v)
			os.WriteFile(v, append(b, '\n'), 0o644) // a change: the check rescans
		}, "webapps.(*Watch).scan"},
	} {
		other := "dns"
		before, otherBefore := restarts(c.watch), restarts(other)
		eventually(t, c.watch+" up", func() bool { return testutil.ToFloat64(h.app.watchUp.WithLabelValues(c.watch)) == 1 })
		time.Sleep(100 * time.Millisecond) // running again
		faults.arm(c.op, c.watch, c.key, 0)
		c.provoke()
		eventually(t, c.goroutine+"'s panic to restart the "+c.watch+" watch", func() bool { return restarts(c.watch) > before })
		if e := lastErr(c.watch); !strings.Contains(e, c.goroutine+" panicked") || !strings.Contains(e, c.frame) {
			t.Errorf("the %s watch's last error does not say %q panicked in %s:\n%.600s", c.watch, c.goroutine, c.frame, e)
		}
		if restarts(other) != otherBefore {
			t.Errorf("the %s watch restarted too", other)
		}
		eventually(t, "the "+c.watch+" watch up again", func() bool { return testutil.ToFloat64(h.app.watchUp.WithLabelValues(c.watch)) == 1 })
	}
	if r := restarts("policy"); r != 0 {
		t.Errorf("the policy watch restarted %v times", r)
	}
	if testutil.ToFloat64(h.app.watchUp.WithLabelValues("dns")) != 1 {
		t.Error("the DNS watch is not up")
	}
}
