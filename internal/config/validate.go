package config

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
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
	if cfg.HTTP.Listen != "" {
		if err := checkLoopback(cfg.HTTP.Listen); err != nil {
			c.bad("http.listen", "%v", err)
		}
	}
	if cfg.Store.Driver != "sqlite" {
		c.bad("store.driver", "expected sqlite, got %q (this version stores to SQLite only)", cfg.Store.Driver)
	}
	c.positive("store.sample_retention", cfg.Store.SampleRetention)
	if cfg.Alerts.ResolveAfter < 0 {
		c.bad("alerts.resolve_after", "expected 0 (never) or a positive duration, got %v", cfg.Alerts.ResolveAfter)
	}
	c.positive("alerts.check_interval", cfg.Alerts.CheckInterval)
	c.positive("alerts.notify_timeout", cfg.Alerts.NotifyTimeout)
	c.oneOf("notify.log.min_severity", cfg.Notify.Log.MinSeverity, "info", "warning", "critical")
	// Watch sections: one line each.
	cfg.DNS.validate(c)
	return c.errs
}

// checkLoopback refuses any address a remote machine could reach: until
// the dashboard brings TLS and authentication, vigie's API (alerts that name
// accounts and domains) must stay on this machine.
func checkLoopback(listen string) error {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("expected host:port such as 127.0.0.1:9760, got %q", listen)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	if host == "localhost" {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if host == "" || err != nil || !ip.IsLoopback() {
		return fmt.Errorf("%q is not a loopback address: vigie serves its API and metrics on 127.0.0.1 or [::1] only, "+
			"because it has no TLS or login yet; put a reverse proxy with TLS and authentication in front to reach it from elsewhere", listen)
	}
	return nil
}
