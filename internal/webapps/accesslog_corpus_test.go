package webapps

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/vigie"
)

type corpusLine struct {
	want, method, target, source string
	status                       int
	bytes                        int64
}

func readCorpus(t *testing.T, path string) []corpusLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []corpusLine
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		c := strings.Split(l, "\t")
		if len(c) != 6 {
			t.Fatalf("%s:%d: %d columns", path, n, len(c))
		}
		st, err1 := strconv.Atoi(c[1])
		by, err2 := strconv.ParseInt(c[2], 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s:%d: bad status or size", path, n)
		}
		out = append(out, corpusLine{want: c[0], status: st, bytes: by, method: c[3], target: c[4], source: c[5]})
	}
	return out
}

// combined renders a corpus line as nginx's combined format writes it.
func (c corpusLine) combined(ip string, at time.Time) []byte {
	return []byte(fmt.Sprintf(`%s - - [%s] "%s %s HTTP/1.1" %d %d "-" "python-requests/2.31.0"`,
		ip, at.Format("02/Jan/2006:15:04:05 -0700"), c.method, c.target, c.status, c.bytes))
}

// TestExploitCorpus runs the request lines of public exploit code through
// the detector's parser and rules: every one that the access log can show
// must match its rule, and the legitimate lines that look the same must
// match nothing. It prints matched/total (go test -v -run ExploitCorpus).
func TestExploitCorpus(t *testing.T) {
	corpus := readCorpus(t, "testdata/exploits/corpus.tsv")
	legit := readCorpus(t, "testdata/exploits/legit.tsv")
	var p LineParser
	var r Request
	matched, bodyOnly := 0, 0
	perRule := map[string][2]int{}
	for i, c := range corpus {
		if err := p.Parse(c.combined("203.0.113."+strconv.Itoa(i%250), t0), &r); err != nil {
			t.Fatalf("%s: %v", c.target, err)
		}
		got := RuleOf(&r)
		n := perRule[c.want]
		n[1]++
		switch {
		case c.want == "body-only":
			bodyOnly++
			if got != "" {
				t.Errorf("%s %s (%s): matched %s, but its line is a legitimate login's", c.method, c.target, c.source, got)
			}
		case got == c.want:
			matched++
			n[0]++
		default:
			t.Errorf("%s %s (%s): got %q, want %s", c.method, c.target, c.source, got, c.want)
		}
		perRule[c.want] = n
	}
	// The look-alikes go through a detector, as one visitor would send
	// them within a few minutes: a single pingback or author link pours
	// into a bucket but must raise nothing.
	d := NewLogDetector(LogOptions{})
	for i, c := range legit {
		fs, err := d.FeedLine(c.combined("198.51.100.7", t0.Add(time.Duration(i)*5*time.Second)))
		if err != nil {
			t.Fatalf("%s: %v", c.target, err)
		}
		if len(fs) > 0 {
			t.Errorf("legitimate %s %s (%s) raised %v", c.method, c.target, c.source, rules(fs))
		}
	}
	rules := make([]string, 0, len(perRule))
	for k := range perRule {
		rules = append(rules, k)
	}
	sortStrings(rules)
	for _, k := range rules {
		if k == "body-only" {
			continue
		}
		t.Logf("  %-22s %d/%d", k, perRule[k][0], perRule[k][1])
	}
	t.Logf("exploit corpus: %d/%d requests matched their rule; %d body-only requests (same line as a login) not matchable; %d legitimate look-alikes, 0 matched",
		matched, len(corpus), bodyOnly, len(legit))
}

// The severity ladder on real exploit lines: a 200 on a vulnerable install
// is critical; on an unknown site a warning; on a patched one info.
func TestExploitSeverityFromStatusAndInstall(t *testing.T) {
	inv := &Inventory{}
	inv.Set([]*Install{
		{Path: "/var/www/a/old.example", App: "drupal", Name: "Drupal", Version: "7.57", UID: 1001,
			Advisories: []string{"CVE-2014-3704", "CVE-2018-7600", "CVE-2018-7602"}, Status: StatusVulnerable},
		{Path: "/var/www/b/new.example", App: "drupal", Name: "Drupal", Version: "7.103", Status: StatusCurrent},
		{Path: "/var/www/c/j.example", App: "joomla", Name: "Joomla", Version: "3.7.0", UID: 1003,
			Advisories: []string{"CVE-2017-8917"}, Status: StatusVulnerable},
	})
	at := t0.Format("02/Jan/2006:15:04:05 -0700")
	dg2 := "/?q=user%2Fpassword&name%5B%23post_render%5D%5B%5D=passthru&name%5B%23type%5D=markup&name%5B%23markup%5D=id"
	cases := []struct {
		vhost, method, target string
		status                int
		rule                  string
		sev                   vigie.Severity
	}{
		{"old.example", "POST", dg2, 200, string(RuleDrupalgeddon2), vigie.SeverityCritical},
		{"old.example", "POST", dg2, 403, string(RuleDrupalgeddon2), vigie.SeverityWarning},
		{"new.example", "POST", dg2, 200, string(RuleDrupalgeddon2), vigie.SeverityInfo},
		{"other.example", "POST", dg2, 200, string(RuleDrupalgeddon2), vigie.SeverityWarning},
		{"other.example", "POST", dg2, 404, string(RuleDrupalgeddon2), vigie.SeverityInfo},
		{"old.example", "POST", "/?q=node&destination=node", 500, string(RuleDrupalgeddon), vigie.SeverityCritical},
		{"old.example", "POST", "/?q=node&destination=node", 200, "", vigie.SeverityInfo},
		{"old.example", "POST", "/?q=file%2Fajax%2Factions%2Fcancel%2F%23options%2Fpath%2Fform-x", 200, string(RuleDrupalgeddon3), vigie.SeverityCritical},
		{"j.example", "GET", "/index.php?option=com_fields&view=fields&layout=modal&list[fullordering]=updatexml(0x23,concat(1,md5(9)),1)", 500, string(RuleJoomlaFieldsSQLi), vigie.SeverityCritical},
		{"other.example", "GET", "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php", 200, string(RuleEvalStdin), vigie.SeverityCritical},
	}
	for i, c := range cases {
		d := NewLogDetector(LogOptions{Inventory: inv})
		line := fmt.Sprintf(`%s 203.0.113.%d - - [%s] "%s %s HTTP/1.1" %d 100 "-" "-"`, c.vhost, i, at, c.method, c.target, c.status)
		fs := feedAll(t, d, [][]byte{[]byte(line)})
		if c.rule == "" {
			if len(fs) != 0 {
				t.Errorf("%d: %s %s %d: %v", i, c.vhost, c.target, c.status, rules(fs))
			}
			continue
		}
		if len(fs) != 1 || fs[0].Rule != c.rule || fs[0].Severity != c.sev {
			t.Errorf("%d: %s %s %d: got %+v, want %s %s", i, c.vhost, c.target, c.status, fs, c.rule, c.sev)
			continue
		}
		if c.sev == vigie.SeverityCritical && c.rule != string(RuleEvalStdin) && fs[0].Evidence["install"] == "" {
			t.Errorf("%d: critical without the install: %+v", i, fs[0])
		}
	}
}

// WordPress password guessing as it comes: 9 failed POSTs in one second
// from one address (CrowdSec's scenario bans at 6), and 19 addresses one
// POST each to xmlrpc.php (no per-address bucket sees it).
func TestWordPressBruteForceShapes(t *testing.T) {
	d := NewLogDetector(LogOptions{})
	var lines [][]byte
	for i := 0; i < 9; i++ {
		lines = append(lines, logLine("203.0.113.9", "POST", "/wp-login.php", 200, t0.Add(time.Duration(i)*100*time.Millisecond)))
	}
	if r := rules(feedAll(t, d, lines)); r[string(RuleWPLogin)] != 1 {
		t.Errorf("9 POSTs in a second: %v", r)
	}
	d = NewLogDetector(LogOptions{})
	lines = nil
	for i := 0; i < 19; i++ {
		lines = append(lines, logLine(fmt.Sprintf("198.51.%d.%d", 100+i%3, 10+i), "POST", "/xmlrpc.php", 200, t0.Add(time.Duration(i)*37*time.Second)))
	}
	fs := feedAll(t, d, lines)
	if r := rules(fs); r[string(RuleDistributedLogin)] != 1 || len(fs) != 1 {
		t.Errorf("19 addresses, one xmlrpc POST each: %v", r)
	} else if fs[0].Subject != "/xmlrpc.php" || fs[0].Evidence["addresses"] != "15" && fs[0].Evidence["addresses"] != "19" {
		t.Logf("finding: %+v", fs[0])
	}
	// One multicall POST answered with 120 KB: hundreds of guesses at once.
	d = NewLogDetector(LogOptions{})
	big := []byte(fmt.Sprintf(`192.0.2.44 - - [%s] "POST /xmlrpc.php HTTP/1.1" 200 121877 "-" "Mozilla/5.0"`, t0.Format("02/Jan/2006:15:04:05 -0700")))
	if r := rules(feedAll(t, d, [][]byte{big})); r[string(RuleXMLRPCMulticall)] != 1 {
		t.Errorf("multicall: %v", r)
	}
	// A busy site: 40 people log in within the hour from 40 addresses,
	// 12 of them mistype once first. Nothing.
	d = NewLogDetector(LogOptions{})
	lines = nil
	for i := 0; i < 40; i++ {
		ip := fmt.Sprintf("192.0.2.%d", 100+i)
		at := t0.Add(time.Duration(i) * 90 * time.Second)
		if i%10 < 3 {
			lines = append(lines, logLine(ip, "POST", "/wp-login.php", 200, at))
			at = at.Add(20 * time.Second)
		}
		lines = append(lines, logLine(ip, "POST", "/wp-login.php", 302, at))
	}
	if fs := feedAll(t, d, lines); len(fs) != 0 {
		t.Errorf("busy site's logins fired: %v", rules(fs))
	}
	// Author scan: /?author=1..10 from one address.
	d = NewLogDetector(LogOptions{})
	lines = nil
	for i := 1; i <= 10; i++ {
		lines = append(lines, logLine("203.0.113.77", "GET", "/?author="+strconv.Itoa(i), 301, t0.Add(time.Duration(i)*time.Second)))
	}
	if r := rules(feedAll(t, d, lines)); r[string(RuleWPAuthorScan)] != 1 {
		t.Errorf("author scan: %v", r)
	}
}

func sortStrings(s []string) { sort.Strings(s) }
