// Package email sends alert changes by mail over SMTP, with STARTTLS and
// AUTH PLAIN, through a server and an optional separate relay.
//
// The relay is there because the server's own mail may be what is
// blocklisted (the first seed incident ended with Microsoft refusing the
// server's IP): point server at the local MTA and relay at an outside
// smarthost. vigie tries the relay when the server fails, and tries it
// first when the message is about a blocklisting.
package email

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"time"

	"github.com/vigie/vigie/internal/notify"
	"github.com/vigie/vigie/internal/vigie"
)

// TLS modes.
const (
	StartTLSRequired      = "required"      // refuse to send without STARTTLS
	StartTLSOpportunistic = "opportunistic" // use it when offered
	ImplicitTLS           = "tls"           // TLS from the first byte (port 465)
)

// Server is one SMTP server to submit to.
type Server struct {
	Address  string // host:port
	TLS      string // required (default), opportunistic or tls
	Username string // empty: no AUTH
	Password string
	CAFile   string // PEM roots for a private CA; empty: the system's
}

// Options configure a Notifier.
type Options struct {
	Name   string
	From   string
	To     []string
	Server Server
	Relay  *Server // optional
	Helo   string  // the name given in EHLO; empty: "localhost"
	Now    func() time.Time
}

// Notifier implements notify.Notifier.
type Notifier struct {
	o       Options
	servers []server
}

type server struct {
	Server
	host string
	tls  *tls.Config
}

// New checks o and returns a notifier.
func New(o Options) (*Notifier, error) {
	if _, err := mail.ParseAddress(o.From); err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	if len(o.To) == 0 {
		return nil, errors.New("to: at least one address is required")
	}
	for _, to := range o.To {
		if _, err := mail.ParseAddress(to); err != nil {
			return nil, fmt.Errorf("to %q: %w", to, err)
		}
	}
	if o.Name == "" {
		o.Name = "email"
	}
	if o.Helo == "" {
		o.Helo = "localhost"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	n := &Notifier{o: o}
	for i, s := range []*Server{&o.Server, o.Relay} {
		if s == nil {
			continue
		}
		sv, err := newServer(*s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", []string{"server", "relay"}[i], err)
		}
		n.servers = append(n.servers, sv)
	}
	return n, nil
}

func newServer(s Server) (server, error) {
	host, _, err := net.SplitHostPort(s.Address)
	if err != nil {
		return server{}, fmt.Errorf("address: expected host:port, got %q", s.Address)
	}
	if s.TLS == "" {
		s.TLS = StartTLSRequired
	}
	switch s.TLS {
	case StartTLSRequired, StartTLSOpportunistic, ImplicitTLS:
	default:
		return server{}, fmt.Errorf("tls: expected required, opportunistic or tls, got %q", s.TLS)
	}
	cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			return server{}, fmt.Errorf("ca_file: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return server{}, fmt.Errorf("ca_file %s holds no PEM certificate", s.CAFile)
		}
	}
	return server{Server: s, host: host, tls: cfg}, nil
}

// Name implements notify.Notifier.
func (n *Notifier) Name() string { return n.o.Name }

// Notify implements notify.Notifier: the server, then the relay (or the
// other way round for a blocklisting). The error is permanent only when
// every server refused for good.
func (n *Notifier) Notify(ctx context.Context, m *notify.Message) error {
	msg := n.compose(m)
	order := n.servers
	if len(order) == 2 && aboutBlocklisting(m) {
		order = []server{order[1], order[0]}
	}
	var errs []error
	permanent := true
	for _, s := range order {
		err := n.send(ctx, s, msg)
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", s.Address, err))
		permanent = permanent && notify.IsPermanent(err)
	}
	err := errors.Join(errs...)
	if permanent {
		return notify.Permanent(err)
	}
	// Flatten: one server's permanent refusal must not make the whole
	// retryable failure look permanent to errors.As.
	return errors.New(err.Error())
}

func aboutBlocklisting(m *notify.Message) bool {
	for _, no := range m.Notifications {
		// a listing's key, whichever watch raised it (the blocklist watch's
		// own alerts are all keyed so)
		if vigie.IsBlocklistKey(no.Alert.Key) {
			return true
		}
	}
	return false
}

// send submits msg through one server.
func (n *Notifier) send(ctx context.Context, s server, msg []byte) (err error) {
	d := net.Dialer{}
	conn, err := d.DialContext(ctx, "tcp", s.Address)
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	if s.TLS == ImplicitTLS {
		tc := tls.Client(conn, s.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			return err
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		return classify(err)
	}
	defer c.Close()
	if err := c.Hello(n.o.Helo); err != nil {
		return classify(err)
	}
	if s.TLS != ImplicitTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(s.tls); err != nil {
				return classify(err)
			}
		} else if s.TLS == StartTLSRequired {
			return notify.Permanent(errors.New("the server does not offer STARTTLS (tls: required)"))
		}
	}
	if s.Username != "" {
		// net/smtp's PLAIN refuses to send a password in clear to anything
		// but localhost.
		if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password, s.host)); err != nil {
			return classify(err)
		}
	}
	if err := c.Mail(addr(n.o.From)); err != nil {
		return classify(err)
	}
	for _, to := range n.o.To {
		if err := c.Rcpt(addr(to)); err != nil {
			return classify(err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return classify(err)
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return classify(err)
	}
	return c.Quit()
}

func addr(s string) string {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return s // checked in New
	}
	return a.Address
}

// classify makes 5xx replies permanent; 4xx and network errors retry.
func classify(err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return notify.Permanent(err)
	}
	return err
}
