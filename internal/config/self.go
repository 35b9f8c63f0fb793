package config

import (
	"net/url"
	"time"
)

// Self configures the self-watch: vigie's own blindness as alerts.
type Self struct {
	// CheckInterval is how often vigie checks that it sees.
	CheckInterval time.Duration `yaml:"check_interval"`
	// DownAfter: a watch waiting this long to restart is an alert.
	DownAfter time.Duration `yaml:"down_after"`
	// RestartLoop: a watch failing this many times within 15 minutes is
	// an alert.
	RestartLoop int `yaml:"restart_loop"`
	// NotifierFailing: a notifier failing this long is an alert to the
	// other notifiers.
	NotifierFailing time.Duration `yaml:"notifier_failing"`
	// MinFreeMB and MinFreePercent: the SQLite store's disk below either
	// is an alert.
	MinFreeMB      int     `yaml:"min_free_mb"`
	MinFreePercent float64 `yaml:"min_free_percent"`
}

// Heartbeat is an outbound ping every Interval to a URL that alerts when
// the pings stop (healthchecks.io, Uptime Kuma's push monitor), so the
// admin hears when vigie itself, or its machine, is dead.
type Heartbeat struct {
	URL      Secret        `yaml:"url"` // "": off; the URL often holds the check's token
	Interval time.Duration `yaml:"interval"`
	// FailURL, when set, is pinged instead while vigie is blind somewhere
	// (healthchecks.io: the URL + "/fail"; Uptime Kuma: ?status=down).
	FailURL Secret        `yaml:"fail_url"`
	Timeout time.Duration `yaml:"timeout"`
}

func defaultSelf() Self {
	return Self{CheckInterval: 30 * time.Second, DownAfter: time.Minute, RestartLoop: 3,
		NotifierFailing: 10 * time.Minute, MinFreeMB: 256, MinFreePercent: 5}
}

func defaultHeartbeat() Heartbeat {
	return Heartbeat{Interval: 5 * time.Minute, Timeout: 10 * time.Second}
}

func (s *Self) validate(c *checker) {
	c.positive("self.check_interval", s.CheckInterval)
	c.positive("self.down_after", s.DownAfter)
	c.positive("self.notifier_failing", s.NotifierFailing)
	c.atLeast("self.restart_loop", s.RestartLoop, 1)
	c.atLeast("self.min_free_mb", s.MinFreeMB, 0)
	if s.MinFreePercent < 0 || s.MinFreePercent >= 100 {
		c.bad("self.min_free_percent", "expected a percentage from 0 to 100, got %v", s.MinFreePercent)
	}
}

func (h *Heartbeat) validate(c *checker) {
	c.positive("heartbeat.interval", h.Interval)
	c.positive("heartbeat.timeout", h.Timeout)
	for key, s := range map[string]Secret{"heartbeat.url": h.URL, "heartbeat.fail_url": h.FailURL} {
		v := s.Value()
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			c.bad(key, "expected an http or https URL")
		}
	}
}
