package email

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/vigie/vigie/internal/notify"
	"github.com/vigie/vigie/internal/notify/notifytest"
	"github.com/vigie/vigie/internal/vigie"
)

// A real SMTP server (go-smtp) on loopback: STARTTLS with a test
// certificate, AUTH PLAIN only after TLS, one user.
type received struct {
	from, user string
	to         []string
	data       []byte
	tls        bool
}

type backend struct {
	mu   sync.Mutex
	msgs []received
	// reject answers every MAIL FROM with this code (0: accept).
	reject int
}

type session struct {
	be  *backend
	c   *smtp.Conn
	cur received
}

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) { return &session{be: b, c: c}, nil }

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != "vigie" || pass != "smtp-pass" {
			return errors.New("bad credentials")
		}
		s.cur.user = user
		return nil
	}), nil
}
func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.cur.user == "" {
		return smtp.ErrAuthRequired
	}
	if s.be.reject != 0 {
		return &smtp.SMTPError{Code: s.be.reject, Message: "refused by test"}
	}
	s.cur.from = from
	_, s.cur.tls = s.c.TLSConnectionState()
	return nil
}
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.to = append(s.cur.to, to)
	return nil
}
func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = b
	s.be.mu.Lock()
	s.be.msgs = append(s.be.msgs, s.cur)
	s.be.mu.Unlock()
	return nil
}
func (s *session) Reset()        { s.cur = received{user: s.cur.user} }
func (s *session) Logout() error { return nil }

// testCert makes a self-signed certificate for 127.0.0.1 and writes it
// as the CA file the notifier trusts.
func testCert(t *testing.T) (tls.Certificate, string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test smtp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, ca
}

func startSMTP(t *testing.T, cert *tls.Certificate) (*backend, string) {
	be := &backend{}
	s := smtp.NewServer(be)
	s.Domain = "localhost"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	if cert != nil {
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*cert}}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return be, ln.Addr().String()
}

func TestSendsOverStartTLSWithAuth(t *testing.T) {
	cert, ca := testCert(t)
	be, addr := startSMTP(t, &cert)
	n, err := New(Options{From: "vigie <vigie@example.org>", To: []string{"ops@example.org", "Admin <admin@example.org>"},
		Server: Server{Address: addr, Username: "vigie", Password: "smtp-pass", CAFile: ca},
		Now:    func() time.Time { return notifytest.T0 }})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(context.Background(), notifytest.Message()); err != nil {
		t.Fatal(err)
	}
	if len(be.msgs) != 1 {
		t.Fatalf("%d messages received", len(be.msgs))
	}
	got := be.msgs[0]
	if !got.tls || got.user != "vigie" || got.from != "vigie@example.org" || strings.Join(got.to, ",") != "ops@example.org,admin@example.org" {
		t.Errorf("envelope: tls %v user %q from %q to %q", got.tls, got.user, got.from, got.to)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(got.data))
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Header["Bcc"]) != 0 {
		t.Error("hostile subject injected a Bcc header")
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || !strings.Contains(subject, "<script>alert(1)</script>") || strings.ContainsAny(subject, "\r\n") {
		t.Errorf("subject %q, %v", subject, err)
	}
	if msg.Header.Get("Auto-Submitted") != "auto-generated" || msg.Header.Get("Message-Id") != "<abc-1@example.org>" {
		t.Errorf("headers %v", msg.Header)
	}
	body, _ := io.ReadAll(msg.Body)
	// What happened, what vigie did, the next step, the incident's page
	// (quoted-printable may fold long lines: read it decoded).
	text, _ := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body)))
	for _, want := range []string{"Incident #7", "sent 600 messages in 10 min", "vigie did: held 412 messages", "Next step: Suspend",
		"Dashboard: " + notifytest.URL} {
		if !strings.Contains(string(text), want) {
			t.Errorf("body lacks %q:\n%s", want, text)
		}
	}
}

func TestRefusesWithoutStartTLS(t *testing.T) {
	be, addr := startSMTP(t, nil) // no TLS offered
	n, _ := New(Options{From: "vigie@example.org", To: []string{"ops@example.org"},
		Server: Server{Address: addr, Username: "vigie", Password: "smtp-pass"}})
	err := n.Notify(context.Background(), notifytest.Message())
	if err == nil || !notify.IsPermanent(err) || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("err = %v, want a permanent STARTTLS error", err)
	}
	if len(be.msgs) != 0 {
		t.Error("the password went out in clear")
	}
}

func TestRelayWhenServerFailsOrForBlocklisting(t *testing.T) {
	cert, ca := testCert(t)
	local, localAddr := startSMTP(t, &cert)
	relay, relayAddr := startSMTP(t, &cert)
	srv := Server{Address: localAddr, Username: "vigie", Password: "smtp-pass", CAFile: ca}
	rel := &Server{Address: relayAddr, Username: "vigie", Password: "smtp-pass", CAFile: ca}
	n, err := New(Options{From: "vigie@example.org", To: []string{"ops@example.org"}, Server: srv, Relay: rel})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Normal case: the local server.
	if err := n.Notify(ctx, notifytest.Message()); err != nil || len(local.msgs) != 1 || len(relay.msgs) != 0 {
		t.Fatalf("normal: err %v, local %d relay %d", err, len(local.msgs), len(relay.msgs))
	}
	// A blocklisting: the relay first.
	bl := notifytest.Message()
	bl.Notifications[0].Alert.Watch, bl.Notifications[0].Alert.Key = "blocklist", vigie.BlocklistKey("192.0.2.1", "zen.spamhaus.org")
	if err := n.Notify(ctx, bl); err != nil || len(local.msgs) != 1 || len(relay.msgs) != 1 {
		t.Fatalf("blocklisting: err %v, local %d relay %d", err, len(local.msgs), len(relay.msgs))
	}
	// The local server refuses (temporarily): the relay takes it.
	local.reject = 451
	if err := n.Notify(ctx, notifytest.Message()); err != nil || len(relay.msgs) != 2 {
		t.Fatalf("fallback: err %v, relay %d", err, len(relay.msgs))
	}
	// Both refuse for good: a permanent error naming both.
	relay.reject = 550
	local.reject = 554
	err = n.Notify(ctx, notifytest.Message())
	if !notify.IsPermanent(err) || !strings.Contains(err.Error(), localAddr) || !strings.Contains(err.Error(), relayAddr) {
		t.Errorf("err = %v", err)
	}
	// One down (connection refused), one refusing for good: retry later.
	relay.reject = 0
	down := &Server{Address: "127.0.0.1:1", TLS: StartTLSRequired}
	n2, _ := New(Options{From: "vigie@example.org", To: []string{"ops@example.org"}, Server: srv, Relay: down})
	if err := n2.Notify(ctx, notifytest.Message()); err == nil || notify.IsPermanent(err) {
		t.Errorf("err = %v, want a temporary error", err)
	}
}
