package webapps

import (
	"testing"
	"time"
)

func TestVersionCompare(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"7.57", "7.58", -1},
		{"7.100", "7.58", 1},
		{"8.5.0", "8.5", 0},
		{"6.5-RC1", "6.5", -1},
		{"6.5-beta2", "6.4.9", 1},
		{"2.4.6-p3", "2.4.6", 1},
		{"2.4.6-p3", "2.4.6-p10", -1},
		{"2.4.7", "2.4.6-p10", 1},
		{"2023-04-04a", "2023-04-04", 1},
		{"2023-04-04a", "2023-04-04b", -1},
		{"2024-02-06", "2023-04-04b", 1},
		{"1.6.1.24", "1.6.1.3", 1},
		{"11.5.1-dev", "11.5.1", -1},
	}
	for _, c := range cases {
		if got := MustVersion(c.a).Compare(MustVersion(c.b)); got != c.want {
			t.Errorf("Compare(%s, %s) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestParseVersionRefusesGarbage(t *testing.T) {
	for _, s := range []string{"", "abc", "-", "<script>"} {
		if _, ok := ParseVersion(s); ok {
			t.Errorf("ParseVersion(%q) accepted", s)
		}
	}
	if v, _ := ParseVersion("1.2.3.4.5.6.7.8.9.10"); len(v.Nums) > maxSegments {
		t.Errorf("segments not bounded: %v", v.Nums)
	}
}

// The Drupalgeddon ranges must be in the shipped data, with their fixes.
func TestEmbeddedDataDrupalgeddon(t *testing.T) {
	d := EmbeddedData()
	now := d.Time()
	cases := []struct {
		version string
		vuln    []string
		notVuln []string
	}{
		{"7.31", []string{"CVE-2014-3704", "CVE-2018-7600"}, nil},
		{"7.32", []string{"CVE-2018-7600"}, []string{"CVE-2014-3704"}},
		{"7.57", []string{"CVE-2018-7600", "CVE-2018-7602"}, []string{"CVE-2014-3704"}},
		{"7.58", []string{"CVE-2018-7602"}, []string{"CVE-2018-7600"}},
		{"8.3.8", []string{"CVE-2018-7600"}, nil},
		{"8.3.9", nil, []string{"CVE-2018-7600"}},
		{"8.4.5", []string{"CVE-2018-7600"}, nil},
		{"8.5.0", []string{"CVE-2018-7600"}, nil},
		{"8.5.1", nil, []string{"CVE-2018-7600"}},
		{"6.38", []string{"CVE-2018-7600"}, []string{"CVE-2014-3704"}},
		{"7.103", nil, []string{"CVE-2018-7600", "CVE-2014-3704"}},
	}
	for _, c := range cases {
		v := d.Rate("drupal", c.version, now)
		for _, id := range c.vuln {
			if !contains(v.Advisories, id) {
				t.Errorf("drupal %s: %s missing from %v", c.version, id, v.Advisories)
			}
		}
		for _, id := range c.notVuln {
			if contains(v.Advisories, id) {
				t.Errorf("drupal %s: %s wrongly in %v", c.version, id, v.Advisories)
			}
		}
	}
	if ids := d.AdvisoriesFor("drupal", "drupalgeddon2"); !contains(ids, "CVE-2018-7600") {
		t.Errorf("drupalgeddon2 advisories = %v", ids)
	}
	if ids := d.AdvisoriesFor("drupal", "drupalgeddon"); !contains(ids, "CVE-2014-3704") {
		t.Errorf("drupalgeddon advisories = %v", ids)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestRate(t *testing.T) {
	d := EmbeddedData()
	at := func(s string) time.Time { tm, _ := time.Parse(time.DateOnly, s); return tm }
	cases := []struct {
		app, version string
		now          string
		want         Status
	}{
		{"wordpress", "6.8.3", "2026-11-21", StatusCurrent},
		{"wordpress", "6.8.2", "2026-11-21", StatusOutdated},
		{"wordpress", "6.9.1", "2026-11-21", StatusCurrent}, // newer than the data knows
		{"wordpress", "6.1.9", "2026-11-21", StatusCurrent}, // backported branch, latest of it
		{"wordpress", "4.6.29", "2026-11-21", StatusEOL},
		{"wordpress", "3.5.1", "2026-11-21", StatusEOL}, // older than every cycle
		{"drupal", "7.103", "2024-06-01", StatusCurrent},
		{"drupal", "7.103", "2025-06-01", StatusEOL},
		{"drupal", "7.57", "2018-01-01", StatusVulnerable},
		{"nextcloud", "33.0.0", "2026-11-21", StatusCurrent},
		{"joomla", "5.3.3", "2026-11-21", StatusCurrent},
		{"nosuchapp", "1.0", "2026-11-21", StatusUnknown},
		{"wordpress", "garbage", "2026-11-21", StatusUnknown},
	}
	for _, c := range cases {
		if got := d.Rate(c.app, c.version, at(c.now)).Status; got != c.want {
			t.Errorf("%s %s at %s: %s, want %s", c.app, c.version, c.now, got, c.want)
		}
	}
}

func TestParseDataRefusesBadFiles(t *testing.T) {
	good := string(embeddedData)
	cases := map[string]string{
		"not json":      "{",
		"wrong schema":  `{"schema": 2}`,
		"unknown field": `{"schema": 1, "date": "2026-01-01", "source": "x", "apps": {}, "extra": 1}`,
		"missing apps":  `{"schema": 1, "date": "2026-01-01", "source": "x", "apps": {}}`,
		"bad date":      `{"schema": 1, "date": "yesterday", "source": "x", "apps": {}}`,
		"bad range":     replaceOnce(good, `"fixed": "7.58"`, `"fixed": "7.0"`),
		"bad version":   replaceOnce(good, `"latest": "7.103"`, `"latest": "seven"`),
	}
	for name, in := range cases {
		if _, err := ParseData([]byte(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := ParseData(embeddedData); err != nil {
		t.Fatal(err)
	}
}

func replaceOnce(s, old, new string) string {
	for i := 0; i+len(old) <= len(s); i++ {
		if s[i:i+len(old)] == old {
			return s[:i] + new + s[i+len(old):]
		}
	}
	panic("not found: " + old)
}
