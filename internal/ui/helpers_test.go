package ui

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie/vigie/internal/alert"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/store/sqlite"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watches"
)

// recordingMail is the MailActions of the tests: it records the calls,
// and records each action through the pipeline as the real one
// (policy.Actions) does.
type recordingMail struct {
	mu    sync.Mutex
	calls []string
	held  map[string]bool
	rec   alert.Recorder
}

func (m *recordingMail) act(ctx context.Context, actor, name, account string) error {
	_, err := m.rec.RecordAction(ctx, alert.Action{Actor: actor, Name: name, Target: account, Group: alert.AccountGroup(account)})
	return err
}

func (m *recordingMail) Hold(ctx context.Context, actor, account string, alertID int64) error {
	m.mu.Lock()
	m.calls = append(m.calls, "hold "+account)
	if m.held == nil {
		m.held = map[string]bool{}
	}
	m.held[account] = true
	m.mu.Unlock()
	return m.act(ctx, actor, "mail.hold", account)
}

func (m *recordingMail) Release(ctx context.Context, actor, account string, alertID int64) error {
	m.mu.Lock()
	m.calls = append(m.calls, "release "+account)
	delete(m.held, account)
	m.mu.Unlock()
	return m.act(ctx, actor, "mail.release", account)
}

func (m *recordingMail) Held(ctx context.Context) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for a := range m.held {
		out = append(out, a)
	}
	return out, nil
}

func (m *recordingMail) Calls() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.calls...)
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// fixture is a dashboard on a real SQLite store and alert pipeline.
type fixture struct {
	db       *sqlite.DB
	pipeline *alert.Pipeline
	mail     *recordingMail
	clock    *clock
	srv      *Server
	users    *Users
}

// cheapArgon2 keeps tests quick; production hashes use DefaultArgon2.
var cheapArgon2 = Argon2Params{Time: 1, Memory: 1024, Threads: 1}

func newFixture(t testing.TB, login bool) *fixture {
	t.Helper()
	return newFixtureWith(t, func(o *Options) { o.Login = login })
}

func newFixtureWith(t testing.TB, opt func(*Options)) *fixture {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "v.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c := &clock{t: time.Now().UTC()}
	p := alert.New(alert.Options{Watches: watches.All(), Store: db, Now: c.Now})
	f := &fixture{db: db, pipeline: p, mail: &recordingMail{rec: p}, clock: c}
	o := Options{Store: db, Gatherer: prometheus.NewRegistry(), Pipeline: p, Mail: f.mail, Now: c.Now}
	opt(&o)
	f.srv = New(o)
	f.users = &Users{Store: db, Now: c.Now, Params: cheapArgon2}
	return f
}

func (f *fixture) emit(t testing.TB, fs ...vigie.Finding) {
	t.Helper()
	for _, x := range fs {
		if x.Time.IsZero() {
			x.Time = f.clock.Now()
		}
		if err := f.pipeline.Emit(context.Background(), x); err != nil {
			t.Fatal(err)
		}
	}
}

func newClient(t testing.TB) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type resp struct {
	code int
	body string
	hdr  http.Header
}

func do(t testing.TB, c *http.Client, method, u string, body string, hdr map[string]string) resp {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if method == http.MethodPost && hdr["Content-Type"] == "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	r, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return resp{r.StatusCode, string(b), r.Header}
}

func form(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v.Encode()
}

func auditQuery(actor string) store.AuditQuery { return store.AuditQuery{Actor: actor} }
