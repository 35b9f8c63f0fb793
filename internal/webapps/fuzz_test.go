package webapps

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzVersionFile drives every layout's version extraction with arbitrary
// file heads: no panic, and whatever comes out is a short, printable
// version string.
func FuzzVersionFile(f *testing.F) {
	filepath.Walk("testdata/sites", func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && fi.Size() < 4096 {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
		return nil
	})
	f.Add([]byte("$wp_version = '6.8.3\x00';"))
	f.Add([]byte("'major' => '1', 'minor' => '9', 'major' => '2'"))
	f.Fuzz(func(t *testing.T, head []byte) {
		for _, s := range specs {
			for i := range s.layouts {
				v := s.layouts[i].version(head)
				if v == "" {
					continue
				}
				if len(v) > 40 || !utf8.ValidString(v) || strings.ContainsAny(v, "<>\"' \n\x00") {
					t.Fatalf("%s %s: bad version %q", s.id, s.layouts[i].file, v)
				}
				if _, ok := ParseVersion(v); !ok {
					t.Fatalf("%s: extracted %q does not parse", s.id, v)
				}
				EmbeddedData().Rate(s.id, v, EmbeddedData().Time())
			}
		}
	})
}

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"7.57", "2.4.6-p3", "2023-04-04a", "6.5-RC1", "1.2.3.4.5.6.7.8", "99999999999999999999", "-p-p-p", "2023-04-04-04-04a"} {
		f.Add(s, "7.58")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		va, oka := ParseVersion(a)
		vb, okb := ParseVersion(b)
		if !oka || !okb {
			return
		}
		if len(va.Nums) > maxSegments || len(vb.Nums) > maxSegments {
			t.Fatalf("unbounded segments: %v %v", va.Nums, vb.Nums)
		}
		if va.Compare(vb) != -vb.Compare(va) {
			t.Fatalf("Compare not antisymmetric: %q %q", a, b)
		}
		if va.Compare(va) != 0 {
			t.Fatalf("Compare(%q, itself) != 0", a)
		}
	})
}

// FuzzParseLine feeds arbitrary lines to the parser and the detectors: no
// panic, and a parsed request's fields are slices of the line.
func FuzzParseLine(f *testing.F) {
	for _, l := range []string{
		`203.0.113.9 - - [10/Oct/2025:13:55:36 +0200] "GET /index.php?q=node HTTP/1.1" 200 2326 "-" "Mozilla/5.0"`,
		`shop.example:443 2001:db8::1 - alice [10/Oct/2025:13:55:36 -0000] "POST /wp-login.php HTTP/2.0" 302 - "-" "curl/8"`,
		`1.2.3.4 - - [01/Jan/2026:00:00:01 +0000] "POST /?q=user/password&name[%23post_render][]=passthru HTTP/1.1" 200 1 "-" "-"`,
		`1.2.3.4 - - [01/Jan/2026:00:00:01 +0000] "GET /?q=node/99/delete&destination=node?q[%2523post_render][]=x HTTP/1.1" 200 1`,
		`1.2.3.4 - - [01/Jan/2026:00:00:01 +0000] "\x16\x03" 400 0 "-" "-"`,
		`1.2.3.4 - - [01/Jan/2026:00:00:01 +0000] "GET /%%%25%2 HTTP/1.1" 200 1 "\"" "\\"`,
		`x x x x [01/Jan/2026:00:00:01 +1400] "GET /.env HTTP/1.1" 200 99999999999999999 "-" "-"`,
	} {
		f.Add([]byte(l))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var p LineParser
		var r Request
		if err := p.Parse(line, &r); err == nil {
			if r.Status < 0 || r.Status > 999 || r.Bytes < 0 {
				t.Fatalf("status %d bytes %d", r.Status, r.Bytes)
			}
		}
		d := NewLogDetector(LogOptions{MaxTracked: 10})
		for i := 0; i < 3; i++ {
			fs, _ := d.FeedLine(line)
			for _, f := range fs {
				if err := f.Validate(); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

func FuzzParseData(f *testing.F) {
	f.Add(embeddedData)
	f.Add([]byte(`{"schema":1,"date":"2026-01-01","source":"x","apps":{"wordpress":{"cycles":[{"cycle":"1","latest":"1.0"}],"advisories":[{"id":"x","ranges":[{"introduced":"1"}]}]}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseData(b)
		if err != nil {
			return
		}
		for id := range d.Apps {
			d.Rate(id, "1.2.3", d.Time())
		}
	})
}

// FuzzImportWordfence: a feed is downloaded from the network; whatever it
// holds, the import errs or yields advisories that pass ParseData.
func FuzzImportWordfence(f *testing.F) {
	if b, err := os.ReadFile("testdata/wordfence/feed.json"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"a": {"id": "a", "software": [{"type": "theme", "slug": "t", "affected_versions": {"x": {"from_version": "1.0", "to_version": "*"}}}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ext, _, err := ImportWordfence(strings.NewReader(string(b)))
		if err != nil {
			return
		}
		d := EmbeddedData()
		d.MergeExtensions(ext, "")
		enc, err := d.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseData(enc); err != nil && len(enc) < maxDataSize {
			t.Fatalf("imported advisories do not check: %v", err)
		}
	})
}

// FuzzExtensionHeaders: plugin, theme, module and manifest headers are
// written by whoever wrote the plugin; what comes out is a clean version.
func FuzzExtensionHeaders(f *testing.F) {
	f.Add([]byte("/*\nPlugin Name: X\nVersion: 1.2.3\n*/"))
	f.Add([]byte("Stable tag: 4.0.2\n"))
	f.Add([]byte("version = \"7.x-2.5\"\n"))
	f.Add([]byte("<extension><name>x</name><version>9.8.1</version></extension>"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, re := range []*regexp.Regexp{reHdrVersion, reStableTag, reXMLVersion} {
			if v := sanitizeVersion(firstMatch(re, b)); v != "" && (len(v) > 40 || strings.ContainsAny(v, "<>\"' \n\x00")) {
				t.Fatalf("bad version %q", v)
			}
		}
		if v := firstMatch(reInfoVersion, b); v != "" && drupalVersionOK(v) && strings.ContainsAny(v, "<>\"' \n\x00") {
			t.Fatalf("bad drupal version %q", v)
		}
		d := EmbeddedData()
		d.ExtensionAdvisories(KindDrupal, "restws", string(b))
		d.ExtensionAdvisories(KindWPPlugin, "backwpup", string(b))
	})
}
