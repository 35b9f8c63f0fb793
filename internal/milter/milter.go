package milter

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/textproto"
	"sync"
	"time"

	gomilter "github.com/emersion/go-milter"
)

// Path is how a message reached Postfix, known from the listener Postfix
// connected to.
type Path uint8

const (
	// PathSMTP: smtpd_milters, mail from an SMTP client.
	PathSMTP Path = iota + 1
	// PathLocal: non_smtpd_milters, mail a local user submitted with
	// sendmail (postdrop, then pickup).
	PathLocal
)

func (p Path) String() string {
	switch p {
	case PathSMTP:
		return "smtp"
	case PathLocal:
		return "local"
	}
	return "unknown"
}

// Message is what the gate is told about one message at its end. Every
// string in it is attacker-controlled text except QueueID and Path.
type Message struct {
	Path Path
	// SASLUser is the authenticated SMTP user ({auth_authen}); "" if none.
	SASLUser string
	// Client is the SMTP client's address; invalid for local mail.
	Client netip.Addr
	// UID is the local user that ran sendmail, from the Received header
	// pickup prepended; -1 when unknown (and always for SMTP mail).
	UID int
	// Sender is the envelope sender (may be forged).
	Sender string
	// Recipients is how many recipients the message has.
	Recipients int
	// QueueID is Postfix's queue id (the {i} macro).
	QueueID string
}

// Verdict is what the gate decides for a message.
type Verdict uint8

const (
	Accept   Verdict = iota
	Hold             // Postfix's hold queue (milter quarantine)
	TempFail         // 4xx: the client keeps the message and retries
)

func (v Verdict) String() string {
	switch v {
	case Hold:
		return "hold"
	case TempFail:
		return "tempfail"
	}
	return "accept"
}

// Decision is a verdict and the reason Postfix logs (hold) or the client
// sees (tempfail).
type Decision struct {
	Verdict Verdict
	Reason  string
}

// Gate decides about each message. It must not block for long: the milter
// gives it Timeout, then accepts.
type Gate interface {
	Check(ctx context.Context, m *Message) Decision
}

// Server serves Postfix's milter connections on one or two listeners.
type Server struct {
	Gate Gate
	// UIDOf reads the uid of a locally submitted message from its queue
	// file (the "Received: ... (Postfix, from userid N)" header pickup
	// prepends): Postfix does not show that header to milters, and the
	// headers it does show are the sender's, forgeable. nil: uids unknown.
	UIDOf  func(ctx context.Context, queueID string) (int, error)
	Logger *slog.Logger
	// Timeout bounds one decision (default 2s): past it the message is
	// accepted, as Postfix does when vigie does not answer.
	Timeout time.Duration
}

// Serve answers the milter connections Postfix opens on ln, for mail of
// path p, until ctx is done; it then closes ln and every open connection
// (Postfix, under milter_default_action = accept, then lets mail through)
// and returns once they are closed.
func (s *Server) Serve(ctx context.Context, ln net.Listener, p Path) error {
	log := s.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tl := &trackingListener{Listener: ln, conns: map[net.Conn]struct{}{}}
	srv := &gomilter.Server{
		NewMilter: func() gomilter.Milter {
			return &session{srv: s, log: log, path: p}
		},
		// quarantine is Postfix's hold queue; nothing else is changed
		Actions: gomilter.OptQuarantine,
		// neither headers nor body: the sender writes them
		Protocol: gomilter.OptNoBody | gomilter.OptNoHeaders | gomilter.OptNoEOH | gomilter.OptNoHelo | gomilter.OptNoUnknown,
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(tl) }()
	select {
	case <-ctx.Done():
		tl.Close()
		tl.closeAll()
		<-done
		return nil
	case err := <-done:
		tl.closeAll()
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("milter: %w", err)
	}
}

// trackingListener remembers the connections it accepted so that stopping
// closes them: go-milter does not, and a session left open would keep
// answering for a gate that is gone.
type trackingListener struct {
	net.Listener
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		c.Close()
		return nil, net.ErrClosed
	}
	tc := &trackedConn{Conn: c, l: l}
	l.conns[tc] = struct{}{}
	return tc, nil
}

func (l *trackingListener) closeAll() {
	l.mu.Lock()
	l.closed = true
	conns := l.conns
	l.conns = map[net.Conn]struct{}{}
	l.mu.Unlock()
	for c := range conns {
		c.(*trackedConn).Conn.Close()
	}
}

type trackedConn struct {
	net.Conn
	l    *trackingListener
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}

// session is one message's state (go-milter makes a new one after each
// final answer, so connection data is re-read from the macros Postfix
// sends with MAIL FROM).
type session struct {
	srv  *Server
	log  *slog.Logger
	path Path

	client  netip.Addr
	user    string
	sender  string
	rcpts   int
	queueID string
}

var _ gomilter.Milter = (*session)(nil)

func (m *session) Connect(host, family string, port uint16, addr net.IP, mod *gomilter.Modifier) (gomilter.Response, error) {
	if a, ok := netip.AddrFromSlice(addr); ok && m.path == PathSMTP {
		m.client = a.Unmap()
	}
	return gomilter.RespContinue, nil
}

func (m *session) Helo(string, *gomilter.Modifier) (gomilter.Response, error) {
	return gomilter.RespContinue, nil
}

func (m *session) MailFrom(from string, mod *gomilter.Modifier) (gomilter.Response, error) {
	m.sender, m.rcpts = from, 0
	m.user = mod.Macros["{auth_authen}"]
	if m.path == PathSMTP {
		// {client_addr} is sent with MAIL FROM when milter_mail_macros
		// asks for it (vigie postfix-config does): it is the only way to
		// know the client of the second message of a session.
		if a, err := netip.ParseAddr(mod.Macros["{client_addr}"]); err == nil {
			m.client = a.Unmap()
		}
	}
	m.queueID = mod.Macros["i"]
	return gomilter.RespContinue, nil
}

func (m *session) RcptTo(string, *gomilter.Modifier) (gomilter.Response, error) {
	m.rcpts++
	return gomilter.RespContinue, nil
}

func (m *session) Header(string, string, *gomilter.Modifier) (gomilter.Response, error) {
	return gomilter.RespContinue, nil
}

func (m *session) Headers(textproto.MIMEHeader, *gomilter.Modifier) (gomilter.Response, error) {
	return gomilter.RespContinue, nil
}

func (m *session) BodyChunk([]byte, *gomilter.Modifier) (gomilter.Response, error) {
	return gomilter.RespContinue, nil
}

// Body is the end of the message: the gate decides.
func (m *session) Body(mod *gomilter.Modifier) (gomilter.Response, error) {
	if id := mod.Macros["i"]; id != "" {
		m.queueID = id
	}
	msg := &Message{Path: m.path, SASLUser: m.user, UID: -1, Sender: m.sender, Recipients: m.rcpts, QueueID: m.queueID}
	if m.path == PathSMTP {
		msg.Client = m.client
	}
	d := m.srv.decide(msg, m.log)
	switch d.Verdict {
	case Hold:
		reason := d.Reason
		if reason == "" {
			reason = "held by vigie"
		}
		if err := mod.Quarantine(oneLine(reason)); err != nil {
			return nil, err
		}
		return gomilter.RespAccept, nil
	case TempFail:
		text := oneLine(d.Reason)
		if text == "" {
			text = "4.7.1 try again later"
		}
		return gomilter.NewResponseStr('y', "451 "+text), nil
	}
	return gomilter.RespAccept, nil
}

func (m *session) Abort(*gomilter.Modifier) error {
	m.sender, m.rcpts, m.user, m.queueID = "", 0, "", ""
	return nil
}

// decide asks the gate, accepting when it panics or is too slow.
func (s *Server) decide(msg *Message, log *slog.Logger) (d Decision) {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ch := make(chan Decision, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				log.Error("milter: internal error; accepting the message", "panic", fmt.Sprint(p))
				ch <- Decision{}
			}
		}()
		if msg.Path == PathLocal && s.UIDOf != nil && msg.QueueID != "" {
			if uid, err := s.UIDOf(ctx, msg.QueueID); err == nil {
				msg.UID = uid
			} else {
				log.Warn("milter: cannot read the uid of a local message", "queue_id", msg.QueueID, "err", err)
			}
		}
		ch <- s.Gate.Check(ctx, msg)
	}()
	select {
	case d = <-ch:
		return d
	case <-ctx.Done():
		log.Warn("milter: the gate did not decide in time; accepting the message", "timeout", timeout, "queue_id", msg.QueueID)
		return Decision{}
	}
}

// oneLine keeps a reply text on one line of printable ASCII.
func oneLine(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = ' '
		}
	}
	return string(b)
}
