package webapps

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/vigie"
)

func TestParseLine(t *testing.T) {
	cases := []struct {
		name, line                    string
		vhost, ip, method, target, ua string
		status                        int
		bytes                         int64
		time                          string
		bad                           bool
	}{
		{name: "combined", line: `203.0.113.9 - - [10/Oct/2025:13:55:36 +0200] "GET /index.php?q=node HTTP/1.1" 200 2326 "-" "Mozilla/5.0"`,
			ip: "203.0.113.9", method: "GET", target: "/index.php?q=node", status: 200, bytes: 2326, ua: "Mozilla/5.0", time: "2025-10-10T11:55:36Z"},
		{name: "apache vhost_combined", line: `shop.example:443 2001:db8::1 - alice [10/Oct/2025:13:55:36 -0000] "POST /wp-login.php HTTP/2.0" 302 - "https://shop.example/" "curl/8"`,
			vhost: "shop.example", ip: "2001:db8::1", method: "POST", target: "/wp-login.php", status: 302, ua: "curl/8", time: "2025-10-10T13:55:36Z"},
		{name: "nginx host first", line: `www.example.org 198.51.100.7 - - [01/Jan/2026:00:00:01 +0000] "GET / HTTP/1.1" 304 0 "-" "-" "-"`,
			vhost: "www.example.org", ip: "198.51.100.7", method: "GET", target: "/", status: 304, ua: "-", time: "2026-01-01T00:00:01Z"},
		{name: "common (no referer, ua)", line: `127.0.0.1 - - [01/Jan/2026:00:00:01 +0000] "GET /x HTTP/1.0" 404 12`,
			ip: "127.0.0.1", method: "GET", target: "/x", status: 404, bytes: 12, time: "2026-01-01T00:00:01Z"},
		{name: "escaped quote in ua", line: `127.0.0.1 - - [01/Jan/2026:00:00:01 +0000] "GET /x HTTP/1.1" 200 1 "-" "a \"quoted\" b"`,
			ip: "127.0.0.1", method: "GET", target: "/x", status: 200, bytes: 1, ua: `a \"quoted\" b`, time: "2026-01-01T00:00:01Z"},
		{name: "tls on port 80", line: `127.0.0.1 - - [01/Jan/2026:00:00:01 +0000] "\x16\x03\x01\x02\x00\x01\x00\x01\xFC\x03\x03" 400 157 "-" "-"`,
			ip: "127.0.0.1", target: `\x16\x03\x01\x02\x00\x01\x00\x01\xFC\x03\x03`, status: 400, bytes: 157, ua: "-", time: "2026-01-01T00:00:01Z"},
		{name: "empty request", line: `127.0.0.1 - - [01/Jan/2026:00:00:01 +0000] "-" 408 0 "-" "-"`,
			ip: "127.0.0.1", target: "-", status: 408, ua: "-", time: "2026-01-01T00:00:01Z"},
		{name: "no time", line: `127.0.0.1 - - "GET / HTTP/1.1" 200 1`, bad: true},
		{name: "bad month", line: `127.0.0.1 - - [01/Foo/2026:00:00:01 +0000] "GET / HTTP/1.1" 200 1`, bad: true},
		{name: "bad status", line: `127.0.0.1 - - [01/Jan/2026:00:00:01 +0000] "GET / HTTP/1.1" abc 1`, bad: true},
		{name: "unterminated request", line: `127.0.0.1 - - [01/Jan/2026:00:00:01 +0000] "GET / HTTP/1.1 200 1`, bad: true},
		{name: "too many fields", line: `a b c d e f [01/Jan/2026:00:00:01 +0000] "GET / HTTP/1.1" 200 1`, bad: true},
		{name: "empty", line: ``, bad: true},
	}
	var p LineParser
	for _, c := range cases {
		var r Request
		err := p.Parse([]byte(c.line), &r)
		if c.bad {
			if err == nil || !errors.Is(err, ErrBadLine) {
				t.Errorf("%s: err = %v, want ErrBadLine", c.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		got := fmt.Sprintf("%s|%s|%s|%s|%d|%d|%s|%s", r.VHost, r.IP, r.Method, r.Target, r.Status, r.Bytes, r.UserAgent, r.Time.Format(time.RFC3339))
		want := fmt.Sprintf("%s|%s|%s|%s|%d|%d|%s|%s", c.vhost, c.ip, c.method, c.target, c.status, c.bytes, c.ua, c.time)
		if got != want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, want)
		}
	}
}

func logLine(ip, method, target string, status int, at time.Time) []byte {
	return []byte(fmt.Sprintf(`%s - - [%s] "%s %s HTTP/1.1" %d 512 "-" "test-agent"`,
		ip, at.Format("02/Jan/2006:15:04:05 -0700"), method, target, status))
}

func TestClassify(t *testing.T) {
	cases := []struct {
		method, target string
		want           attack
	}{
		// Drupalgeddon 2, Drupal 8: the published first request.
		{"POST", "/user/register?element_parents=account/mail/%23value&ajax_form=1&_wrapper_format=drupal_ajax", attackDrupalgeddon2},
		{"POST", "/user/register?element_parents=timezone/timezone/%23value&ajax_form=1", attackDrupalgeddon2},
		// Drupal 7: #post_render in the query, then the file/ajax step.
		{"POST", "/?q=user/password&name%5B%23post_render%5D%5B%5D=passthru&name%5B%23type%5D=markup&name%5B%23markup%5D=id", attackDrupalgeddon2},
		{"POST", "/?q=user/password&name[%23post_render][]=system&name[%23markup]=id", attackDrupalgeddon2},
		{"POST", "/?q=file/ajax/name/%23value/form-ZtAZ8pScqE7ZCdVKhA1gmxYS7GmIqd3c8Upr7SVlDHs", attackDrupalgeddon2},
		{"GET", "/?q=node&mail[%23lazy_builder][0]=exec", attackDrupalgeddon2},
		// CVE-2018-7602: double-encoded through destination.
		{"POST", "/?q=node/99/delete&destination=node?q[%2523post_render][]=passthru%26q[%2523type]=markup", attackDrupalgeddon3},
		// Drupalgeddon 1: the login form (judged by its answer), or the key in the query.
		{"POST", "/?q=node&destination=node", attackDrupalLogin},
		{"POST", "/drupal/?q=node&destination=node", attackDrupalLogin},
		{"GET", "/?q=user/login&name[0%20;update+users+set+name%3d'owned']=x", attackDrupalgeddon},
		{"POST", "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php", attackEvalStdin},
		{"GET", "/lib/phpunit/Util/PHP/eval-stdin.php", attackEvalStdin},
		{"POST", "/wp-login.php", attackWPLogin},
		{"POST", "/blog/xmlrpc.php", attackXMLRPC},
		{"GET", "/wp-config.php.bak", attackConfigProbe},
		{"GET", "/wp-config.bak", attackConfigProbe},
		{"GET", "/.wp-config.php.swp", attackConfigProbe},
		{"GET", "/sites/default/settings.php~", attackConfigProbe},
		{"GET", "/configuration.php.old", attackConfigProbe},
		{"GET", "/.env", attackConfigProbe},
		{"GET", "/.git/config", attackConfigProbe},
		{"GET", "/app/etc/env.php.save", attackConfigProbe},
		// Normal requests.
		{"GET", "/wp-login.php", attackNone},
		{"GET", "/wp-config.php", attackNone},
		{"GET", "/sites/default/settings.php", attackNone},
		{"GET", "/user/register?element_parents=account", attackNone},
		{"GET", "/node/1#comments", attackNone},
		{"POST", "/contact", attackNone},
		{"GET", "/search?q=%23hashtag", attackNone},
		{"GET", "/wp-config-sample.php", attackNone},
	}
	for _, c := range cases {
		dec := decodeURL(nil, []byte(c.target))
		path := dec
		if i := strings.IndexByte(string(dec), '?'); i >= 0 {
			path = dec[:i]
		}
		if got := classify([]byte(c.method), dec, path); got != c.want {
			t.Errorf("%s %s: %s, want %s", c.method, c.target, ruleNames[got], ruleNames[c.want])
		}
	}
}

func feedAll(t *testing.T, d *LogDetector, lines [][]byte) []vigie.Finding {
	t.Helper()
	var out []vigie.Finding
	for _, l := range lines {
		fs, err := d.FeedLine(l)
		if err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		for _, f := range fs {
			if err := f.Validate(); err != nil {
				t.Fatalf("invalid finding: %v", err)
			}
		}
		out = append(out, fs...)
	}
	return out
}

func rules(fs []vigie.Finding) map[string]int {
	m := map[string]int{}
	for _, f := range fs {
		m[f.Rule]++
	}
	return m
}

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func TestWPLoginBucket(t *testing.T) {
	d := NewLogDetector(LogOptions{Log: "access.log"})
	var lines [][]byte
	// A person: 5 failed logins in 5 minutes. Nothing.
	for i := 0; i < 5; i++ {
		lines = append(lines, logLine("198.51.100.1", "POST", "/wp-login.php", 200, t0.Add(time.Duration(i)*time.Minute)))
	}
	if fs := feedAll(t, d, lines); len(fs) != 0 {
		t.Fatalf("a person's logins fired: %v", fs)
	}
	// A robot: one POST a second.
	lines = nil
	for i := 0; i < 120; i++ {
		lines = append(lines, logLine("203.0.113.66", "POST", "/wp-login.php", 200, t0.Add(time.Duration(i)*time.Second)))
	}
	fs := feedAll(t, d, lines)
	if r := rules(fs); r["wp-login-bruteforce"] != 1 {
		t.Fatalf("rules = %v, want one wp-login-bruteforce (repeats wait %v)", r, d.o.Repeat)
	}
	f := fs[0]
	// Capacity 5, one leaks every 10 s: the 6th failure within 5 s.
	if f.Subject != "203.0.113.66" || f.Severity != vigie.SeverityWarning || !f.Time.Equal(t0.Add(5*time.Second)) {
		t.Errorf("finding = %+v (want the 6th POST at t0+5s)", f)
	}
	// It repeats after Repeat while the robot goes on.
	fs = feedAll(t, d, [][]byte{logLine("203.0.113.66", "POST", "/wp-login.php", 200, t0.Add(11*time.Minute))})
	if len(fs) != 1 {
		t.Errorf("no repeat after 11 min: %v", fs)
	}
}

func TestXMLRPCAndProbes(t *testing.T) {
	d := NewLogDetector(LogOptions{})
	var lines [][]byte
	for i := 0; i < 11; i++ {
		lines = append(lines, logLine("192.0.2.5", "POST", "/xmlrpc.php", 200, t0.Add(time.Duration(i)*time.Second)))
	}
	probes := []string{"/wp-config.php.bak", "/wp-config.old", "/.env", "/configuration.php~", "/.git/config", "/settings.php.save"}
	for i, p := range probes {
		lines = append(lines, logLine("192.0.2.6", "GET", p, 404, t0.Add(time.Duration(i)*time.Second)))
	}
	r := rules(feedAll(t, d, lines))
	if r["xmlrpc-bruteforce"] != 1 || r["config-probe"] != 1 || r["config-backup-served"] != 0 {
		t.Errorf("rules = %v", r)
	}
	// A backup that was served is critical at once.
	fs := feedAll(t, d, [][]byte{logLine("192.0.2.7", "GET", "/wp-config.php.bak", 200, t0)})
	if len(fs) != 1 || fs[0].Rule != "config-backup-served" || fs[0].Severity != vigie.SeverityCritical {
		t.Errorf("served backup: %+v", fs)
	}
}

func TestPostFlood(t *testing.T) {
	d := NewLogDetector(LogOptions{})
	var lines [][]byte
	// The relay incident: a contact form posted to by many IPs, 2 a second.
	for i := 0; i < 1200; i++ {
		ip := fmt.Sprintf("10.0.%d.%d", i/250, i%250)
		lines = append(lines, []byte(fmt.Sprintf(`site.example 	%s - - [%s] "POST /contact?x=%d HTTP/1.1" 200 10 "-" "-"`,
			ip, t0.Add(time.Duration(i)*500*time.Millisecond).Format("02/Jan/2006:15:04:05 -0700"), i)))
	}
	fs := feedAll(t, d, lines)
	r := rules(fs)
	if r["post-flood"] != 1 {
		t.Fatalf("rules = %v", r)
	}
	for _, f := range fs {
		if f.Rule == "post-flood" && f.Subject != "site.example/contact" {
			t.Errorf("subject = %q", f.Subject)
		}
	}
	// Normal traffic on a form: one POST every 10 s for an hour.
	d = NewLogDetector(LogOptions{})
	lines = nil
	for i := 0; i < 360; i++ {
		lines = append(lines, logLine("10.1.1.1", "POST", "/contact", 200, t0.Add(time.Duration(i)*10*time.Second)))
	}
	if fs := feedAll(t, d, lines); len(fs) != 0 {
		t.Errorf("normal form traffic fired: %v", rules(fs))
	}
}

// A Drupalgeddon 2 request on a site running a Drupal 7.57 is critical and
// joins the install's incident; on a patched site it is only info.
func TestExploitLinksToVulnerableInstall(t *testing.T) {
	inv := &Inventory{}
	inv.Set([]*Install{
		{Path: "/var/www/alice/old.example", App: "drupal", Name: "Drupal", Version: "7.57", Owner: "alice",
			Advisories: []string{"CVE-2018-7600", "CVE-2018-7602"}, Status: StatusVulnerable},
		{Path: "/var/www/bob/new.example", App: "drupal", Name: "Drupal", Version: "7.103", Owner: "bob", Status: StatusCurrent},
	})
	d := NewLogDetector(LogOptions{Inventory: inv, Log: "/var/log/nginx/access.log"})
	attack := "/?q=user/password&name[%23post_render][]=passthru&name[%23type]=markup&name[%23markup]=id"
	at := t0.Format("02/Jan/2006:15:04:05 -0700")
	fs := feedAll(t, d, [][]byte{
		[]byte(`old.example 203.0.113.1 - - [` + at + `] "POST ` + attack + ` HTTP/1.1" 200 10 "-" "python-requests/2.18"`),
		[]byte(`new.example 203.0.113.2 - - [` + at + `] "POST ` + attack + ` HTTP/1.1" 200 10 "-" "python-requests/2.18"`),
	})
	if len(fs) != 2 {
		t.Fatalf("findings = %+v", fs)
	}
	hit, miss := fs[0], fs[1]
	if hit.Severity != vigie.SeverityCritical || hit.Group != OwnerGroup(inv.Installs()[0].UID) ||
		hit.Evidence["install"] != "/var/www/alice/old.example" ||
		hit.Evidence["install_alert"] != InstallAlertKey("install-vulnerable", "/var/www/alice/old.example") ||
		!strings.Contains(hit.Evidence["advisories"], "CVE-2018-7600") {
		t.Errorf("linked finding = %+v", hit)
	}
	// The install's own finding is in the same group: one incident.
	for _, f := range InstallFindings(inv.Installs()[0], t0) {
		if f.Rule == "install-vulnerable" && (f.Group != hit.Group || f.AlertKey() != hit.Evidence["install_alert"]) {
			t.Errorf("install finding key %s group %s; attack links %s group %s", f.AlertKey(), f.Group, hit.Evidence["install_alert"], hit.Group)
		}
	}
	if miss.Severity != vigie.SeverityInfo || miss.Evidence["install"] != "" {
		t.Errorf("unlinked finding = %+v", miss)
	}
}

// Attacker-controlled text is kept as sent (clipped), never interpreted.
func TestHostileContentKeptAsIs(t *testing.T) {
	d := NewLogDetector(LogOptions{})
	target := `/?q=file/ajax/name/%23value/<script>alert(1)</script>` + strings.Repeat("A", 5000)
	fs := feedAll(t, d, [][]byte{[]byte(fmt.Sprintf(`1.2.3.4 - - [%s] "GET %s HTTP/1.1" 404 0 "-" "<img src=x onerror=alert(1)>\x1b[31m"`,
		t0.Format("02/Jan/2006:15:04:05 -0700"), target))})
	if len(fs) != 1 {
		t.Fatalf("findings = %v", fs)
	}
	ev := fs[0].Evidence
	if !strings.HasPrefix(ev["target"], "/?q=file/ajax/name/%23value/<script>") || len(ev["target"]) > 1100 {
		t.Errorf("target evidence = %.80q (len %d)", ev["target"], len(ev["target"]))
	}
	if ev["user_agent"] != `<img src=x onerror=alert(1)>\x1b[31m` {
		t.Errorf("ua = %q", ev["user_agent"])
	}
}

func TestDetectorStateIsBounded(t *testing.T) {
	d := NewLogDetector(LogOptions{MaxTracked: 1000})
	for i := 0; i < 50_000; i++ {
		l := logLine(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), "POST", fmt.Sprintf("/p%d", i), 200, t0.Add(time.Duration(i)*time.Millisecond))
		if _, err := d.FeedLine(l); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(d.ips) + len(d.pages); n > 1000 {
		t.Errorf("tracked %d > 1000", n)
	}
}

func TestBadLinesCounted(t *testing.T) {
	d := NewLogDetector(LogOptions{})
	for _, l := range []string{"", "garbage", "\x00\x01\x02", `1.2.3.4 - - [99/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 1`} {
		if _, err := d.FeedLine([]byte(l)); err == nil {
			t.Errorf("%q accepted", l)
		}
	}
	if s := d.Stats(); s.Bad != 4 || s.Lines != 4 {
		t.Errorf("stats = %+v", s)
	}
}
