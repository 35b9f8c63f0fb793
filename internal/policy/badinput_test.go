package policy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/vigie/vigie/internal/metrics"
)

func TestReadRequest(t *testing.T) {
	cases := []struct {
		name, in string
		err      error
		want     Request
	}{
		{"full", "request=smtpd_access_policy\nprotocol_state=END-OF-MESSAGE\nsasl_username=a@b\nsender=s@b\nclient_address=10.0.0.1\nqueue_id=4F2A1C3B9D\nrecipient_count=3\nsize=1234\nccert_subject=whatever\nnew_attribute_2030=x\n\n", nil,
			Request{Request: "smtpd_access_policy", ProtocolState: "END-OF-MESSAGE", SASLUsername: "a@b", Sender: "s@b", ClientAddress: "10.0.0.1", QueueID: "4F2A1C3B9D", RecipientCount: 3, Size: 1234, Attributes: 10}},
		{"crlf and empty values", "request=smtpd_access_policy\r\nsize=\r\nrecipient_count=\r\n\r\n", nil,
			Request{Request: "smtpd_access_policy", Attributes: 3}},
		{"value with =", "sender=a=b@c\n\n", nil, Request{Sender: "a=b@c", Attributes: 1}},
		{"binary", "sasl_username=\x00\xff\xfe\n\n", nil, Request{SASLUsername: "\x00\xff\xfe", Attributes: 1}},
		{"no equals", "hello\n\n", errNoEquals, Request{}},
		{"empty name", "=x\n\n", errEmptyName, Request{}},
		{"bad number", "size=12x\n\n", errBadNumber, Request{}},
		{"huge number", "size=123456789012345678901\n\n", errBadNumber, Request{}},
		{"only an empty line", "\n", errEmptyRequests, Request{}},
		{"no terminator", "request=smtpd_access_policy\n", errNoTerminator, Request{}},
		{"partial line", "request=smtpd_acc", errNoTerminator, Request{}},
		{"nothing", "", io.EOF, Request{}},
		{"too long", "sender=" + strings.Repeat("x", MaxLine) + "\n\n", errLineTooLong, Request{}},
		{"too many", strings.Repeat("a=b\n", MaxAttributes+1) + "\n", errTooMany, Request{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var req Request
			err := ReadRequest(bufio.NewReaderSize(strings.NewReader(c.in), MaxLine), &req)
			if err != c.err {
				t.Fatalf("err = %v, want %v", err, c.err)
			}
			if err == nil && req != c.want {
				t.Errorf("got %+v\nwant %+v", req, c.want)
			}
		})
	}
}

func FuzzReadRequest(f *testing.F) {
	f.Add([]byte("request=smtpd_access_policy\nprotocol_state=END-OF-MESSAGE\nsasl_username=a\nrecipient_count=2\n\n"))
	f.Add([]byte("request=smtpd_access_policy\n\nrequest=smtpd_access_policy\n\n"))
	f.Add([]byte("size=99999999999999999999\n\n"))
	f.Add([]byte("\x00=\xff\n\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		br := bufio.NewReaderSize(bytes.NewReader(in), MaxLine)
		for i := 0; i < 1000; i++ {
			var req Request
			if err := ReadRequest(br, &req); err != nil {
				return
			}
			if req.Attributes < 1 || req.Attributes > MaxAttributes || req.RecipientCount < 0 || req.Size < 0 {
				t.Fatalf("impossible request %+v", req)
			}
		}
	})
}

// Bad clients are answered or closed with a log line, and the server goes
// on answering good ones.
func TestBadClients(t *testing.T) {
	cfg := testConfig()
	cfg.IdleTimeout = 300 * time.Millisecond
	cfg.MaxConnections = 50
	reg := prometheus.NewRegistry()
	r := start(t, Options{Config: cfg, Store: openStore(t, t.TempDir()), Metrics: metrics.New(reg)})
	bad := r.s.m.badRequests

	closedAfter := func(payload string) bool {
		c, err := net.Dial("tcp", r.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte(payload))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, err := io.ReadAll(c)
		// closed: an EOF, or a reset when it closed while we still wrote
		var ne net.Error
		return len(b) == 0 && (err == nil || !(errors.As(err, &ne) && ne.Timeout()))
	}
	for name, payload := range map[string]string{
		"too long":   "request=smtpd_access_policy\nsender=" + strings.Repeat("A", 100000) + "\n\n",
		"garbage":    "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 TLS hello\n\n",
		"no equals":  "GET / HTTP/1.0\n\n",
		"silent":     "",
		"no newline": "request=smtpd_access_policy\nsender=x",
	} {
		if !closedAfter(payload) {
			t.Errorf("%s: connection not closed", name)
		}
	}
	if n := testutil.ToFloat64(bad["framing"]); n != 3 {
		t.Errorf("framing errors counted: %v", n)
	}
	if n := testutil.ToFloat64(bad["idle"]); n != 2 {
		t.Errorf("idle connections counted: %v", n)
	}

	// a request without request= or with unknown attributes only: DUNNO
	c := dial(t, r.addr)
	if a := c.raw(t, "foo=bar\n\n"); a != "action=DUNNO" {
		t.Errorf("missing attributes: %s", a)
	}
	if a := c.raw(t, "request=something_else\nprotocol_state=RCPT\n\n"); a != "action=DUNNO" {
		t.Errorf("other request: %s", a)
	}
	if n := testutil.ToFloat64(bad["request"]); n != 2 {
		t.Errorf("bad requests counted: %v", n)
	}
}

// A client opening 10,000 connections gets max_connections of them; the
// rest are closed at once, memory stays bounded and good clients are
// still answered afterwards.
func TestConnectionFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 10,000 connections")
	}
	flood := 10000
	// both ends of each connection are in this process: make room
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil {
		lim.Cur = lim.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
		syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
		if room := int(lim.Cur)/2 - 200; room < flood {
			t.Logf("RLIMIT_NOFILE is %d: flooding with %d connections", lim.Cur, room)
			flood = room
		}
	}
	cfg := testConfig()
	cfg.MaxConnections = 100
	cfg.IdleTimeout = 2 * time.Second
	r := start(t, Options{Config: cfg, Store: openStore(t, t.TempDir())})
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range flood {
		c, err := net.Dial("tcp", r.addr)
		if err != nil {
			t.Fatalf("after %d connections: %v", len(conns), err)
		}
		conns = append(conns, c)
	}
	time.Sleep(200 * time.Millisecond)
	if n := r.s.conns.Load(); n > int64(cfg.MaxConnections) {
		t.Errorf("%d connections served, max %d", n, cfg.MaxConnections)
	}
	if g := runtime.NumGoroutine(); g > 1000 {
		t.Errorf("%d goroutines for 10,000 connections", g)
	}
	// The server accepts and refuses the backlog at its own pace: wait
	// for it rather than for a fixed time (the machine may be busy).
	want := float64(flood-cfg.MaxConnections) * 0.9
	refused := testutilCount(r.s.m.refused)
	for wait := time.Now().Add(20 * time.Second); refused < want && time.Now().Before(wait); refused = testutilCount(r.s.m.refused) {
		time.Sleep(50 * time.Millisecond)
	}
	if refused < want {
		t.Errorf("refused %v connections, want at least %v", refused, want)
	}
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	// the server recovers: a new client is answered
	deadline := time.Now().Add(5 * time.Second)
	for r.s.conns.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	c := dial(t, r.addr)
	if a := c.ask(t, eom("alice", "F00001", 1)); a != "action=DUNNO" {
		t.Errorf("after the flood: %s", a)
	}
}

func testutilCount(c prometheus.Counter) float64 { return testutil.ToFloat64(c) }
