package demo

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/ct"
	"github.com/vigie/vigie/internal/ct/cttest"
	"github.com/vigie/vigie/internal/vigie"
)

// 4. A certificate issued for a hijacked domain inside the window: the
// attacker, now answering for the domain, passes a CA's DNS validation.
//
// The demo plays the CA and a CT log: a test CA (internal/ct/cttest)
// issues the certificate 52 minutes into the hijack, among others for
// unwatched names, and a loopback RFC 6962 log (cttest.Log, served on
// 127.0.0.1) logs them at that time. The CT watch's own code follows the
// log from its beginning (signed head, entries, Merkle verification), parses
// and matches the certificates against the registrar's domains and links
// the match to the open DNS incident it finds in the store, which is why
// this scenario runs after the hijack's findings are loaded. It runs until
// its first finding, as one poll of `vigie ct check` would, but through the
// watch's reporting path: `ct check` (Options.Once) only prints matches.
const certDomainIndex = 42

func certInWindow() Scenario {
	return Scenario{
		Name:  "cert-in-window",
		Title: "A certificate issued during the hijack window",
		Run: func(ctx context.Context, env *Env) (Result, error) {
			start, _ := hijackWindow(env.Now)
			issued := start.Add(52 * time.Minute)
			seen := issued.Add(2 * time.Minute) // the watch's next poll
			ca, err := cttest.NewCA("Demo ACME CA")
			if err != nil {
				return Result{}, err
			}
			lg, err := cttest.NewLog()
			if err != nil {
				return Result{}, err
			}
			lg.SetTime(issued.Add(-10 * time.Minute))
			d := HijackedDomain(certDomainIndex)
			for i, names := range [][]string{{"shop.example.net"}, {"www.club-photo.example.org", "club-photo.example.org"},
				{d, "www." + d}, {"mail.example.com"}} {
				if len(names) == 2 && names[0] == d {
					lg.SetTime(issued)
				}
				der, err := ca.IssueCert(names, issued.Add(time.Duration(i-2)*time.Minute))
				if err != nil {
					return Result{}, err
				}
				lg.AddCert(der)
			}
			srv := httptest.NewServer(lg) // 127.0.0.1
			defer srv.Close()

			cfg := config.Default().CT
			cfg.Logs = []config.CTLog{{Name: "demo log (loopback)", URL: srv.URL + "/", Key: lg.PubB64, API: "rfc6962"}}
			cfg.Start, cfg.RateLimit, cfg.Timeout = "beginning", 0, 5*time.Second
			cfg.Watchlist = nil
			for i := range portfolio {
				cfg.Watchlist = append(cfg.Watchlist, HijackedDomain(i))
			}
			runCtx, stop := context.WithTimeout(ctx, 30*time.Second)
			defer stop()
			sink := &stopSink{stop: stop}
			w, err := ct.New(ct.Options{CT: cfg, Store: env.Store, Sink: sink, Client: srv.Client(),
				Now: func() time.Time { return seen }})
			if err != nil {
				return Result{}, err
			}
			if err := w.Run(runCtx); err != nil {
				return Result{}, errorf("cert-in-window", "ct watch: %w", err)
			}
			res := Result{Findings: sink.findings()}
			if len(res.Findings) == 0 {
				if err := ctx.Err(); err != nil {
					return res, err
				}
				return res, errorf("cert-in-window", "%w", errors.New("the CT watch reported no certificate"))
			}
			return res, nil
		},
	}
}

// stopSink collects the CT watch's findings (emitted from its log
// follower's goroutine) and stops the watch at the first certificate.
type stopSink struct {
	mu   sync.Mutex
	out  []vigie.Finding
	stop func()
}

func (s *stopSink) Emit(_ context.Context, f vigie.Finding) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.out = append(s.out, f)
	if f.Rule == string(ct.RuleCertificate) {
		s.stop()
	}
	return nil
}

func (s *stopSink) findings() []vigie.Finding {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out
}
