package policy

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/store/sqlite"
	"github.com/vigie/vigie/internal/vigie"
)

func openStore(t testing.TB, dir string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "vigie.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

type fakeSink struct {
	mu       sync.Mutex
	findings []vigie.Finding
}

func (f *fakeSink) Emit(ctx context.Context, x vigie.Finding) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.findings = append(f.findings, x)
	return nil
}

func (f *fakeSink) all() []vigie.Finding {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]vigie.Finding(nil), f.findings...)
}

func testConfig() config.Policy {
	p := config.Default().Policy
	p.Limits = []config.Limit{{Window: time.Minute, Messages: 5, Recipients: 20}}
	p.Containment.PollInterval = 50 * time.Millisecond
	return p
}

// running is a server serving on loopback for one test.
type running struct {
	s    *Server
	addr string
	stop func()
}

func start(t testing.TB, o Options) *running {
	t.Helper()
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Serve(ctx, ln) }()
	select {
	case <-s.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("server not ready")
	}
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return &running{s: s, addr: ln.Addr().String(), stop: stop}
}

// client is a Postfix-like policy client on one connection.
type client struct {
	c  net.Conn
	br *bufio.Reader
}

func dial(t testing.TB, addr string) *client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{c: c, br: bufio.NewReader(c)}
}

func (c *client) ask(t testing.TB, attrs map[string]string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("request=smtpd_access_policy\n")
	for k, v := range attrs {
		fmt.Fprintf(&b, "%s=%s\n", k, v)
	}
	b.WriteString("\n")
	return c.raw(t, b.String())
}

func (c *client) raw(t testing.TB, req string) string {
	t.Helper()
	c.c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	line, err := c.br.ReadString('\n')
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	if empty, err := c.br.ReadString('\n'); err != nil || empty != "\n" {
		t.Fatalf("answer not ended by an empty line: %q %v", empty, err)
	}
	return strings.TrimSuffix(line, "\n")
}

func eom(user, qid string, rcpts int) map[string]string {
	return map[string]string{"protocol_state": "END-OF-MESSAGE", "sasl_username": user, "sender": user,
		"client_address": "192.0.2.7", "queue_id": qid, "recipient_count": fmt.Sprint(rcpts)}
}

func storeAuditAll() store.AuditQuery { return store.AuditQuery{} }

func storeAlertsAll() store.AlertQuery { return store.AlertQuery{} }
