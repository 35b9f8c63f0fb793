package config

import (
	"path/filepath"
	"time"
)

// Web configures the web watch: CMS installs on disk and access logs.
type Web struct {
	// Enabled: auto turns the watch on when a root or an access log exists.
	Enabled Switch `yaml:"enabled"`
	// Roots are the directories searched for installs.
	Roots []string `yaml:"roots"`
	// MaxDepth is how far below a root installs are looked for.
	MaxDepth int `yaml:"max_depth"`
	// NestedDepth is how far below an install other installs are looked
	// for (a forgotten /blog inside a site), outside the app's own dirs.
	NestedDepth int `yaml:"nested_depth"`
	// MaxDirs stops a scan after this many directories.
	MaxDirs int `yaml:"max_dirs"`
	// ScanInterval is the time between full rescans.
	ScanInterval time.Duration `yaml:"scan_interval"`
	// CheckInterval is how often version files and the directories above
	// the installs are checked for changes (an upgrade, a new site), which
	// triggers a rescan.
	CheckInterval time.Duration `yaml:"check_interval"`
	// AbandonedAfter: an install that is not current and whose code and
	// content did not change for this long is reported abandoned.
	AbandonedAfter time.Duration `yaml:"abandoned_after"`
	// DataFile is the version data; empty: web-versions.json in the data
	// directory if `vigie web update-data` wrote one, else the data built
	// into vigie.
	DataFile string `yaml:"data_file"`
	// AccessLogs are the logs to watch; empty: the usual nginx and Apache
	// logs that exist on this machine.
	AccessLogs []AccessLog `yaml:"access_logs"`
	// Repeat is how often a finding about the same IP or page repeats while
	// the activity goes on.
	Repeat  time.Duration `yaml:"repeat"`
	Buckets WebBuckets    `yaml:"buckets"`
	// Distributed is the per-page failure rate across addresses (a botnet
	// sending one or two guesses per address).
	Distributed WebDistributed `yaml:"distributed"`
}

// WebDistributed raises when a login page (wp-login.php, xmlrpc.php, a
// Drupal login form) gets Failures failed logins from Addresses addresses
// within Window, with at most MaxSuccessRatio of the attempts working.
type WebDistributed struct {
	Failures        int           `yaml:"failures"`
	Addresses       int           `yaml:"addresses"`
	MaxSuccessRatio float64       `yaml:"max_success_ratio"`
	Window          time.Duration `yaml:"window"`
}

// AccessLog is one log to follow.
type AccessLog struct {
	Path string `yaml:"path"`
	// Site is the document root it serves, to link requests to installs;
	// empty: by virtual host name.
	Site string `yaml:"site"`
}

// WebBuckets are the leaky buckets of the access-log detectors.
type WebBuckets struct {
	WPLogin   Bucket `yaml:"wp_login"`
	XMLRPC    Bucket `yaml:"xmlrpc"`
	Probe     Bucket `yaml:"probe"`
	PostFlood Bucket `yaml:"post_flood"`
	// AuthorScan: /?author=N requests (WordPress user enumeration), per IP.
	AuthorScan Bucket `yaml:"author_scan"`
}

// Bucket holds Capacity events and drains PerMinute a minute.
type Bucket struct {
	Capacity  int     `yaml:"capacity"`
	PerMinute float64 `yaml:"per_minute"`
}

func defaultWeb() Web {
	return Web{
		Enabled:        SwitchAuto,
		Roots:          []string{"/var/www", "/srv/www"},
		MaxDepth:       4,
		NestedDepth:    2,
		MaxDirs:        2_000_000,
		ScanInterval:   6 * time.Hour,
		CheckInterval:  time.Minute,
		AbandonedAfter: 180 * 24 * time.Hour,
		AccessLogs:     []AccessLog{},
		Repeat:         10 * time.Minute,
		Buckets: WebBuckets{
			WPLogin:    Bucket{Capacity: 5, PerMinute: 6},
			XMLRPC:     Bucket{Capacity: 10, PerMinute: 2},
			Probe:      Bucket{Capacity: 5, PerMinute: 0.5},
			PostFlood:  Bucket{Capacity: 300, PerMinute: 30},
			AuthorScan: Bucket{Capacity: 3, PerMinute: 1},
		},
		Distributed: WebDistributed{Failures: 15, Addresses: 10, MaxSuccessRatio: 0.2, Window: time.Hour},
	}
}

func (w *Web) validate(c *checker) {
	for _, r := range w.Roots {
		if !filepath.IsAbs(r) {
			c.bad("web.roots", "expected absolute directories, got %q", r)
		}
	}
	c.atLeast("web.max_depth", w.MaxDepth, 1)
	c.atLeast("web.nested_depth", w.NestedDepth, 0)
	c.atLeast("web.max_dirs", w.MaxDirs, 1)
	c.positive("web.scan_interval", w.ScanInterval)
	c.positive("web.check_interval", w.CheckInterval)
	if w.AbandonedAfter < 0 {
		c.bad("web.abandoned_after", "expected 0 (never) or a positive duration, got %v", w.AbandonedAfter)
	}
	for _, l := range w.AccessLogs {
		if !filepath.IsAbs(l.Path) {
			c.bad("web.access_logs", "expected an absolute path, got %q", l.Path)
		}
		if l.Site != "" && !filepath.IsAbs(l.Site) {
			c.bad("web.access_logs", "site must be an absolute directory, got %q", l.Site)
		}
	}
	c.positive("web.repeat", w.Repeat)
	for key, b := range map[string]Bucket{"wp_login": w.Buckets.WPLogin, "xmlrpc": w.Buckets.XMLRPC,
		"probe": w.Buckets.Probe, "post_flood": w.Buckets.PostFlood, "author_scan": w.Buckets.AuthorScan} {
		c.atLeast("web.buckets."+key+".capacity", b.Capacity, 1)
		if b.PerMinute <= 0 {
			c.bad("web.buckets."+key+".per_minute", "expected a positive number, got %v", b.PerMinute)
		}
	}
	c.atLeast("web.distributed.failures", w.Distributed.Failures, 2)
	c.atLeast("web.distributed.addresses", w.Distributed.Addresses, 2)
	c.positive("web.distributed.window", w.Distributed.Window)
	if r := w.Distributed.MaxSuccessRatio; r < 0 || r >= 1 {
		c.bad("web.distributed.max_success_ratio", "expected a number from 0 to below 1, got %v", r)
	}
}
