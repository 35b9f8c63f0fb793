package config

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"
)

type fieldError struct{ key, msg string }

// validate checks values the decoder cannot: ranges, enumerations,
// combinations.
func (c *Config) validate() []fieldError {
	var errs []fieldError
	bad := func(key, format string, args ...any) {
		errs = append(errs, fieldError{key, fmt.Sprintf(format, args...)})
	}
	oneOf := func(key, v string, allowed ...string) {
		for _, a := range allowed {
			if v == a {
				return
			}
		}
		bad(key, "expected one of %v, got %q", allowed, v)
	}
	positive := func(key string, d time.Duration) {
		if d <= 0 {
			bad(key, "expected a positive duration such as 30s or 5m, got %v", d)
		}
	}
	oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	oneOf("log.format", c.Log.Format, "text", "json")
	if c.HTTP.Listen != "" {
		if err := checkLoopback(c.HTTP.Listen); err != nil {
			bad("http.listen", "%v", err)
		}
	}
	if c.Store.Driver != "sqlite" {
		bad("store.driver", "expected sqlite, got %q (this version stores to SQLite only)", c.Store.Driver)
	}
	positive("store.sample_retention", c.Store.SampleRetention)
	if c.Alerts.ResolveAfter < 0 {
		bad("alerts.resolve_after", "expected 0 (never) or a positive duration, got %v", c.Alerts.ResolveAfter)
	}
	positive("alerts.check_interval", c.Alerts.CheckInterval)
	positive("alerts.notify_timeout", c.Alerts.NotifyTimeout)
	oneOf("notify.log.min_severity", c.Notify.Log.MinSeverity, "info", "warning", "critical")
	return errs
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
