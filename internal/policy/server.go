package policy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/mail/subject"
	"github.com/vigie/vigie/internal/mailqueue"
	"github.com/vigie/vigie/internal/metrics"
	"github.com/vigie/vigie/internal/milter"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/task"
	"github.com/vigie/vigie/internal/watch"
)

// Options configure a Server.
type Options struct {
	Config config.Policy
	Store  store.Store
	// LogIndex knows queue owners from the mail log (the mail watch's); nil: none.
	LogIndex mailqueue.OwnerIndex
	Sink     watch.Sink
	Logger   *slog.Logger // component=policy is added
	Metrics  *metrics.Factory
	Now      func() time.Time
	// Node is this node's name: with a store several nodes share
	// (store.SharedCounters), its rows of the shared counters.
	Node string
}

// Server is the policy server and its background loops. It implements
// app.Watch (Name, Run).
type Server struct {
	cfg      config.Policy
	st       store.Store
	sink     watch.Sink
	log      *slog.Logger
	now      func() time.Time
	m        *serverMetrics
	limiter  *Limiter
	nets     []netip.Prefix
	rec      *recorder
	findings chan overLimit
	actions  *Actions
	// shared is set when the store is shared between nodes
	shared *sharedState

	ready     atomic.Bool
	readyCh   chan struct{}
	readyOnce sync.Once // the server runs again after a restart
	suspended atomic.Pointer[map[string]Suspension]
	conns     atomic.Int64
	badLog    logLimiter
	// otherStage: a request at another stage was seen (logged once)
	otherStage atomic.Bool
	// recent: answers by queue id, so the milter and the policy server
	// count a message once
	recent *recentAnswers
	// allow: policy.allow, by SuspensionKey
	allow map[string]bool
	// heldBy: what the gate held of each suspended subject
	heldBy heldLog
	tools  *mailqueue.Tools
}

// New builds a server; nothing listens until Run or Serve.
func New(o Options) (*Server, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Metrics == nil {
		o.Metrics = metrics.New(prometheus.NewRegistry())
	}
	s := &Server{
		cfg: o.Config, st: o.Store, sink: o.Sink, log: o.Logger.With("component", "policy"), now: o.Now,
		m:        newServerMetrics(o.Metrics),
		limiter:  NewLimiter(NewLimits(&o.Config)),
		findings: make(chan overLimit, 1024),
		readyCh:  make(chan struct{}),
		recent:   newRecentAnswers(),
		allow:    map[string]bool{},
		heldBy:   heldLog{m: map[string]*heldCount{}},
	}
	for _, a := range o.Config.Allow {
		subj, err := subject.Parse(strings.TrimSpace(a))
		if err != nil || !subj.Account() {
			return nil, fmt.Errorf("policy: allow: %q is not a subject (a SASL account, uid:N or client:ADDRESS)", a)
		}
		s.allow[SuspensionKey(subj)] = true
	}
	for _, n := range o.Config.UnauthenticatedNetworks {
		p, err := netip.ParsePrefix(n)
		if err != nil {
			return nil, fmt.Errorf("policy: unauthenticated_networks: %w", err)
		}
		s.nets = append(s.nets, p.Masked())
	}
	s.rec = newRecorder(o.Store, s.log, o.Now, o.Config.RecordRetention, s.m.recordsDropped)
	tools := ToolsFor(&o.Config.Postfix)
	s.tools = tools
	s.actions = &Actions{Store: o.Store, Queue: tools, Now: o.Now, Actor: "vigie",
		Index: OwnerIndex(o.Store, tools, o.LogIndex)}
	if sc, ok := o.Store.(store.SharedCounters); ok {
		if o.Node == "" {
			return nil, errors.New("policy: a shared store needs the node's name")
		}
		s.shared = &sharedState{st: sc, node: o.Node}
		s.limiter.share()
		s.rec.shared = sc
	}
	empty := map[string]Suspension{}
	s.suspended.Store(&empty)
	return s, nil
}

// ToolsFor returns the queue tools of a policy.postfix section.
func ToolsFor(p *config.Postfix) *mailqueue.Tools {
	return &mailqueue.Tools{ConfigDir: p.ConfigDir, Postqueue: p.Postqueue, Postsuper: p.Postsuper, Postcat: p.Postcat, Timeout: p.Timeout}
}

// Name implements app.Watch.
func (s *Server) Name() string { return string(Name) }

// Ready is closed once the counters and suspensions are loaded; until
// then every request is answered DUNNO (fail-open) and counted.
func (s *Server) Ready() <-chan struct{} { return s.readyCh }

// Run listens on the configured addresses (the policy server's and the
// milter's) and serves until ctx is done.
func (s *Server) Run(ctx context.Context) error {
	var lns []net.Listener
	closeAll := func() {
		for _, l := range lns {
			l.Close()
		}
	}
	for _, addr := range s.cfg.Listen {
		ln, err := listen(addr)
		if err != nil {
			closeAll()
			return fmt.Errorf("policy: listen %s: %w", addr, err)
		}
		s.log.Info("policy server listening", "addr", addr)
		lns = append(lns, ln)
	}
	var milters Milters
	for _, m := range []struct {
		addr string
		ln   *net.Listener
	}{{s.cfg.Milter.Listen, &milters.SMTP}, {s.cfg.Milter.LocalListen, &milters.Local}} {
		if m.addr == "" {
			continue
		}
		ln, err := listen(m.addr)
		if err != nil {
			closeAll()
			if milters.SMTP != nil {
				milters.SMTP.Close()
			}
			return fmt.Errorf("policy: milter listen %s: %w", m.addr, err)
		}
		s.log.Info("milter listening", "addr", m.addr)
		*m.ln = ln
	}
	return s.ServeAll(ctx, milters, lns...)
}

// Milters are the milter's listeners: SMTP for smtpd_milters, Local for
// non_smtpd_milters; nil: not served.
type Milters struct {
	SMTP, Local net.Listener
}

// Serve serves the policy protocol on lns (closing them when ctx is done)
// and runs the background loops; it returns when all of them stopped.
func (s *Server) Serve(ctx context.Context, lns ...net.Listener) error {
	return s.ServeAll(ctx, Milters{}, lns...)
}

func listen(addr string) (net.Listener, error) {
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		// a socket left by a previous run (kill -9) would make Listen fail
		if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
			os.Remove(path)
		}
		ln, err := net.Listen("unix", path)
		if err != nil {
			return nil, err
		}
		// Postfix's smtpd runs as the postfix user; the socket's directory
		// is what restricts who may connect.
		os.Chmod(path, 0o666)
		return ln, nil
	}
	return net.Listen("tcp", addr)
}

// ServeAll serves the policy protocol on lns and the milter on ms, and
// runs the background loops; it returns when all of them stopped. The
// loops, the accept loops and the milters belong to this watch (package
// task): a panic in one of them, or a listener that fails for good, stops
// the others and returns as the watch's error, so the supervisor shows the
// policy watch down and restarts it, listening again.
func (s *Server) ServeAll(ctx context.Context, ms Milters, lns ...net.Listener) error {
	g, gctx := task.New(ctx)
	run := func(name string, f func(context.Context)) {
		g.Go(name, func() error { f(gctx); return nil })
	}
	run("policy loader", s.load)
	run("policy recorder", s.rec.run)
	run("policy findings", s.emitFindings)
	run("policy containment", s.containLoop)
	ml := &milter.Server{Gate: s, Logger: s.log, Timeout: s.cfg.Milter.Timeout, UIDOf: s.tools.UIDOf}
	for _, m := range []struct {
		ln   net.Listener
		path milter.Path
	}{{ms.SMTP, milter.PathSMTP}, {ms.Local, milter.PathLocal}} {
		if m.ln == nil {
			continue
		}
		g.Go("policy milter "+m.path.String(), func() error {
			if err := ml.Serve(gctx, m.ln, m.path); err != nil && gctx.Err() == nil {
				return fmt.Errorf("policy: milter %s stopped: %w", m.path, err)
			}
			return nil
		})
	}
	var conns sync.WaitGroup
	for _, ln := range lns {
		g.Go("policy listener "+ln.Addr().String(), func() error { return s.accept(gctx, ln, &conns) })
	}
	<-gctx.Done()
	for _, ln := range lns {
		ln.Close()
	}
	conns.Wait()
	return g.Wait()
}

// load restores the counters and suspensions, then keeps them: counters
// written every second, suspensions read every second.
func (s *Server) load(ctx context.Context) {
	for ctx.Err() == nil {
		err := s.restoreCounters(ctx)
		if err == nil {
			err = s.refreshSuspensions(ctx)
		}
		if err == nil {
			break
		}
		s.log.Error("policy: cannot load state from the store; answering DUNNO until it can", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	if ctx.Err() != nil {
		return
	}
	s.ready.Store(true)
	s.readyOnce.Do(func() { close(s.readyCh) })
	s.log.Info("policy server ready: counters and suspensions loaded", "shared", s.shared != nil)
	if s.shared != nil {
		s.syncLoop(ctx)
		return
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			s.persistCounters(fctx, false)
			cancel()
			return
		case <-tick.C:
			s.persistCounters(ctx, false)
			if err := s.refreshSuspensions(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("policy: reading suspensions", "err", err)
			}
		}
	}
}

func counterKey(i int) string { return fmt.Sprintf("counters/%02d", i) }

func (s *Server) restoreCounters(ctx context.Context) error {
	if s.shared != nil {
		return s.restoreShared(ctx)
	}
	for i := range shardCount {
		b, err := s.st.GetState(ctx, StateWatch, counterKey(i))
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if err := s.limiter.restore(b); err != nil {
			s.log.Warn("policy: a counters record is damaged; its accounts start from zero", "key", counterKey(i), "err", err)
		}
	}
	return nil
}

// persistCounters writes the shards that changed: after a crash the
// windows continue from at most a second ago.
func (s *Server) persistCounters(ctx context.Context, all bool) {
	for i, b := range s.limiter.snapshot(s.now(), all) {
		if err := s.st.PutState(ctx, StateWatch, counterKey(i), b); err != nil {
			s.limiter.markDirty(i)
			if ctx.Err() == nil {
				s.log.Error("policy: writing counters", "err", err)
			}
		}
	}
}

func (s *Server) refreshSuspensions(ctx context.Context) error {
	m, err := LoadSuspensions(ctx, s.st)
	if err != nil {
		return err
	}
	s.suspended.Store(&m)
	s.m.suspended.Set(float64(len(m)))
	return nil
}

func (s *Server) accept(ctx context.Context, ln net.Listener, conns *sync.WaitGroup) error {
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				// out of file descriptors and the like: wait, do not spin
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.badLog.log(s.log, "policy: accept failed; retrying", "err", err)
				select {
				case <-time.After(delay):
				case <-ctx.Done():
					return nil
				}
				continue
			}
			return fmt.Errorf("policy: listener %s stopped: %w", ln.Addr(), err)
		}
		delay = 0
		if n := s.conns.Add(1); n > int64(s.cfg.MaxConnections) {
			s.conns.Add(-1)
			s.m.refused.Inc()
			s.badLog.log(s.log, "policy: too many connections; closing a new one", "max_connections", s.cfg.MaxConnections, "remote", c.RemoteAddr().String())
			c.Close()
			continue
		}
		s.m.connections.Inc()
		conns.Add(1)
		go func() {
			defer conns.Done()
			defer s.m.connections.Dec()
			defer s.conns.Add(-1)
			// One connection's panic closes that connection only; Decide
			// itself answers DUNNO on a panic (decide.go).
			if err := task.Safe("policy connection", func() error { s.serveConn(ctx, c); return nil }); err != nil {
				c.Close()
				s.log.Error("policy: a connection panicked; closed it", "err", err)
			}
		}()
	}
}

func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// serveConn answers the requests of one Postfix connection, one at a
// time, until Postfix closes it, it stays idle too long, or it sends
// something that is not a policy request.
func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	br := bufio.NewReaderSize(c, MaxLine)
	out := make([]byte, 0, 128)
	var req Request
	for {
		c.SetDeadline(time.Now().Add(s.cfg.IdleTimeout))
		err := ReadRequest(br, &req)
		if err != nil {
			s.connError(ctx, c, err, req.Attributes)
			return
		}
		action, text := s.Decide(&req)
		out = appendReply(out[:0], action, text)
		if _, err := c.Write(out); err != nil {
			s.connError(ctx, c, err, 0)
			return
		}
	}
}

func (s *Server) connError(ctx context.Context, c net.Conn, err error, attrs int) {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF) || ctx.Err() != nil || errors.Is(err, net.ErrClosed):
		return // Postfix closed it, or vigie is stopping
	case errors.As(err, &ne) && ne.Timeout():
		s.m.badRequests["idle"].Inc()
		s.badLog.log(s.log, "policy: closing an idle connection", "remote", c.RemoteAddr().String(), "idle_timeout", s.cfg.IdleTimeout, "partial_attributes", attrs)
	case errors.Is(err, errLineTooLong), errors.Is(err, errTooMany), errors.Is(err, errNoEquals),
		errors.Is(err, errEmptyName), errors.Is(err, errBadNumber), errors.Is(err, errNoTerminator), errors.Is(err, errEmptyRequests):
		s.m.badRequests["framing"].Inc()
		s.badLog.log(s.log, "policy: not a policy request; closing the connection", "remote", c.RemoteAddr().String(), "err", err.Error())
	default:
		s.m.badRequests["read"].Inc()
		s.badLog.log(s.log, "policy: connection error", "remote", c.RemoteAddr().String(), "err", err.Error())
	}
}

// logLimiter keeps a flood of bad connections from flooding the log: at
// most 10 lines a second, then one line saying how many were skipped.
type logLimiter struct {
	mu      sync.Mutex
	second  int64
	n       int
	skipped int
}

func (l *logLimiter) log(log *slog.Logger, msg string, args ...any) {
	l.mu.Lock()
	now := time.Now().Unix()
	if now != l.second {
		if l.skipped > 0 {
			log.Warn("policy: log lines skipped (rate limit)", "skipped", l.skipped)
		}
		l.second, l.n, l.skipped = now, 0, 0
	}
	l.n++
	if l.n > 10 {
		l.skipped++
		l.mu.Unlock()
		return
	}
	l.mu.Unlock()
	log.Warn(msg, args...)
}
