package ui

import (
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Who may read /metrics without a dashboard session (a Prometheus cannot
// type a TOTP code):
//
//   - a scraper that sends Authorization: Bearer <http.metrics_token>, on
//     any listener (a Prometheus on another machine);
//   - a scraper on this machine that connects directly: the peer is a
//     loopback address, the Host it asked for is a loopback name, and the
//     request carries none of the headers a proxy adds. A local nginx that
//     proxy_passes to vigie forwards requests from anywhere from a
//     loopback peer, so it must send Host $host (the public name) and
//     X-Forwarded-For; the request is then not "direct". Because a proxy
//     that sends neither cannot be told apart, setting http.metrics_listen
//     turns this exception off on the main listener: the local scraper
//     then uses the metrics listener, which the proxy does not forward to.

// proxyHeaders are the headers a proxy adds; any one of them means the
// loopback peer is a relay, not the scraper.
var proxyHeaders = []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto",
	"X-Real-Ip", "Via", "X-Forwarded-Server", "Client-Ip", "True-Client-Ip", "Cf-Connecting-Ip"}

// directLocal says the request comes from this machine itself, not
// relayed by a proxy: loopback peer, loopback Host, no proxy header.
func directLocal(r *http.Request) bool {
	for _, h := range proxyHeaders {
		if _, ok := r.Header[h]; ok {
			return false
		}
	}
	if !loopbackHost(r.Host) {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// bearerOK says the request carries the metrics token. Both sides are
// hashed first so the comparison takes the same time whatever the length.
func (s *Server) bearerOK(r *http.Request) bool {
	if s.o.MetricsToken == "" {
		return false
	}
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	want := sha256.Sum256([]byte(s.o.MetricsToken))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// scrapeAllowed: on the main listener, the token or a direct local
// connection (unless a metrics listener exists) lets a scraper in without
// a session.
func (s *Server) scrapeAllowed(r *http.Request) bool {
	if s.bearerOK(r) {
		return true
	}
	return !s.o.MetricsListener && directLocal(r)
}

func (s *Server) metricsHandler() http.Handler {
	return promhttp.HandlerFor(s.o.Gatherer, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelError),
	})
}

// MetricsHandler serves http.metrics_listen: /metrics only. With a token
// configured every scrape must send it; without one (the listener is then
// on loopback, config checks it) only direct local connections are served.
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	h := s.metricsHandler()
	mux.Handle("GET /metrics", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.o.MetricsToken != "" && !s.bearerOK(r) || s.o.MetricsToken == "" && !directLocal(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="vigie metrics"`)
			writeError(w, http.StatusUnauthorized, "send Authorization: Bearer <http.metrics_token>, or scrape from this machine directly")
			return
		}
		h.ServeHTTP(w, r)
	}))
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "this listener serves /metrics only", http.StatusNotFound)
	}))
	return secureHeaders(mux)
}
