package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

type fieldError struct{ key, msg string }

// checker collects validation errors by dotted key. Each section's
// validate method takes one, so a watch's section checks itself:
//
//	func (m *Mail) validate(c *checker) { c.positive("mail.queue_interval", m.QueueInterval) }
type checker struct{ errs []fieldError }

func (c *checker) bad(key, format string, args ...any) {
	c.errs = append(c.errs, fieldError{key, fmt.Sprintf(format, args...)})
}

func (c *checker) oneOf(key, v string, allowed ...string) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	c.bad(key, "expected one of %v, got %q", allowed, v)
}

func (c *checker) positive(key string, d time.Duration) {
	if d <= 0 {
		c.bad(key, "expected a positive duration such as 30s or 5m, got %v", d)
	}
}

func (c *checker) atLeast(key string, v, min int) {
	if v < min {
		c.bad(key, "expected a whole number of at least %d, got %d", min, v)
	}
}

// validate checks values the decoder cannot: ranges, enumerations,
// combinations.
func (cfg *Config) validate() []fieldError {
	c := &checker{}
	c.oneOf("log.level", cfg.Log.Level, "debug", "info", "warn", "error")
	c.oneOf("log.format", cfg.Log.Format, "text", "json")
	cfg.HTTP.validate(c)
	cfg.Store.validate(c)
	c.positive("store.sample_retention", cfg.Store.SampleRetention)
	if cfg.Alerts.ResolveAfter < 0 {
		c.bad("alerts.resolve_after", "expected 0 (never) or a positive duration, got %v", cfg.Alerts.ResolveAfter)
	}
	c.positive("alerts.check_interval", cfg.Alerts.CheckInterval)
	c.positive("alerts.notify_timeout", cfg.Alerts.NotifyTimeout)
	c.positive("alerts.grouping.blocklist_window", cfg.Alerts.Grouping.BlocklistWindow)
	c.positive("alerts.grouping.ct_window", cfg.Alerts.Grouping.CTWindow)
	cfg.Notify.validate(c)
	cfg.Self.validate(c)
	cfg.Heartbeat.validate(c)
	// Watch sections: one line each.
	cfg.Blocklist.validate(c)
	cfg.Web.validate(c)
	cfg.CT.validate(c)
	cfg.Mail.validate(c)
	cfg.Policy.validate(c)
	cfg.DNS.validate(c)
	return c.errs
}

// validate refuses a listen address other machines can reach unless the
// connection is encrypted (TLS here or at a reverse proxy), because then
// the dashboard requires a login, which must not cross the network in clear.
func (h *HTTP) validate(c *checker) {
	if (h.TLSCert == "") != (h.TLSKey == "") {
		c.bad("http.tls_cert", "tls_cert and tls_key go together: set both PEM files or neither")
	}
	if h.TLSCert != "" && h.ReverseProxy {
		c.bad("http.reverse_proxy", "choose one: vigie terminates TLS itself (tls_cert, tls_key) or a reverse proxy does (reverse_proxy: true)")
	}
	c.positive("http.session_lifetime", h.SessionLifetime)
	if h.ExternalURL != "" {
		if u, err := url.Parse(h.ExternalURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			c.bad("http.external_url", "%q is not an http(s) URL such as https://vigie.example.org/ (no query, no fragment)", h.ExternalURL)
		}
	}
	if t := h.MetricsToken.Value(); t != "" && len(t) < 16 {
		c.bad("http.metrics_token", "a token of %d characters is guessable: use at least 16 (for example: openssl rand -hex 32)", len(t))
	}
	if h.MetricsListen != "" {
		if _, _, err := splitListen(h.MetricsListen); err != nil {
			c.bad("http.metrics_listen", "%v", err)
		} else if checkLoopback(h.MetricsListen) != nil && !h.MetricsToken.IsSet() {
			c.bad("http.metrics_listen", "%q is not a loopback address: other machines can reach it, so set http.metrics_token "+
				"(a bearer token Prometheus sends) or listen on 127.0.0.1", h.MetricsListen)
		} else if h.MetricsListen == h.Listen && !strings.HasSuffix(h.Listen, ":0") {
			c.bad("http.metrics_listen", "must differ from http.listen")
		}
	}
	if h.Listen == "" {
		return
	}
	if _, _, err := splitListen(h.Listen); err != nil {
		c.bad("http.listen", "%v", err)
		return
	}
	if err := checkLoopback(h.Listen); err != nil && h.TLSCert == "" && !h.ReverseProxy {
		c.bad("http.listen", "%v", err)
	}
}

func splitListen(listen string) (string, string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", "", fmt.Errorf("expected host:port such as 127.0.0.1:9760, got %q", listen)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return "", "", fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return host, port, nil
}

// checkLoopback says whether listen is reachable from this machine only.
func checkLoopback(listen string) error {
	host, _, err := splitListen(listen)
	if err != nil {
		return err
	}
	if host == "localhost" {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if host == "" || err != nil || !ip.IsLoopback() {
		return fmt.Errorf("%q is not a loopback address: other machines can reach it, so vigie requires TLS and a login there; "+
			"set http.tls_cert and http.tls_key, or put a TLS reverse proxy in front and set http.reverse_proxy: true "+
			"(then add users with 'vigie user add'), or listen on 127.0.0.1", listen)
	}
	return nil
}
