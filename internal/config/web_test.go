package config

import (
	"strings"
	"testing"
)

func TestWebSectionErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{"web:\n  roots: [www]\n", "web.roots"},
		{"web:\n  max_depth: 0\n", "web.max_depth"},
		{"web:\n  check_interval: 0s\n", "web.check_interval"},
		{"web:\n  access_logs:\n    - path: access.log\n", "web.access_logs"},
		{"web:\n  buckets:\n    wp_login: {capacity: 0, per_minute: 1}\n", "web.buckets.wp_login.capacity"},
		{"web:\n  buckets:\n    post_flood: {capacity: 10, per_minute: -1}\n", "web.buckets.post_flood.per_minute"},
		{"web:\n  buckets:\n    author_scan: {capacity: 0, per_minute: 1}\n", "web.buckets.author_scan.capacity"},
		{"web:\n  distributed: {failures: 1}\n", "web.distributed.failures"},
		{"web:\n  distributed: {max_success_ratio: 1.5}\n", "web.distributed.max_success_ratio"},
		{"web:\n  distributed: {window: 0s}\n", "web.distributed.window"},
		{"web:\n  enabled: maybe\n", "web.enabled"},
		{"web:\n  nosuchkey: 1\n", "nosuchkey"},
	}
	for _, c := range cases {
		_, err := Parse("w.yaml", []byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err = %v, want it to name %s", c.in, err, c.want)
		}
	}
	cfg, err := Parse("w.yaml", []byte("web:\n  enabled: on\n  roots: [/srv/sites]\n  access_logs:\n    - {path: /var/log/nginx/a.log, site: /srv/sites/a}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Web.Enabled != SwitchOn || cfg.Web.AccessLogs[0].Site != "/srv/sites/a" || cfg.Web.Buckets.WPLogin.Capacity != 5 {
		t.Errorf("web = %+v", cfg.Web)
	}
}
