package webapps

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// benchSites is the tree size: VIGIE_WEB_BENCH_SITES (make bench sets
// 10000), else 1000 so that `go test -bench .` stays quick.
func benchSites() int {
	if n, err := strconv.Atoi(os.Getenv("VIGIE_WEB_BENCH_SITES")); err == nil && n > 0 {
		return n
	}
	return 1000
}

// siteFiles are, per app, the files of a generated site beyond its version
// file and marker: a realistic spread of directories and files (empty, as
// their content is never read) so the walk has real work.
var siteExtra = []string{
	"index.php", ".htaccess", "robots.txt", "favicon.ico",
	"assets/css/site.css", "assets/js/site.js", "assets/img/logo.png",
	"uploads/2024/01/a.jpg", "uploads/2024/06/b.jpg", "uploads/2025/03/c.jpg", "uploads/2025/11/d.jpg",
	"custom/lib/one.php", "custom/lib/two.php", "custom/tpl/page.tpl", "custom/tpl/list.tpl",
	"backup/old/readme.txt", "stats/2025/index.html", "stats/2025/usage.png",
}

// genTree writes n sites under dir: user<k>/site<i>/ with the apps of
// testdata/sites in turn (their real version files), plus static sites.
func genTree(tb testing.TB, dir string, n int) {
	tb.Helper()
	if _, err := os.Stat(filepath.Join(dir, ".done")); err == nil {
		return
	}
	var apps []string
	ents, _ := os.ReadDir("testdata/sites")
	for _, e := range ents {
		apps = append(apps, e.Name())
	}
	apps = append(apps, "", "") // static sites: no CMS
	// Read each app's files once.
	type file struct {
		rel string
		b   []byte
	}
	files := map[string][]file{}
	for _, a := range apps {
		if a == "" {
			continue
		}
		root := filepath.Join("testdata/sites", a)
		filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
			if err == nil && !fi.IsDir() {
				b, _ := os.ReadFile(p)
				rel, _ := filepath.Rel(root, p)
				files[a] = append(files[a], file{rel, b})
			}
			return nil
		})
	}
	for i := 0; i < n; i++ {
		site := filepath.Join(dir, fmt.Sprintf("user%03d", i%500), fmt.Sprintf("site%05d", i))
		a := apps[i%len(apps)]
		for _, f := range files[a] {
			p := filepath.Join(site, f.rel)
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, f.b, 0o640); err != nil {
				tb.Fatal(err)
			}
		}
		for _, rel := range siteExtra {
			p := filepath.Join(site, rel)
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				tb.Fatal(err)
			}
		}
	}
	os.WriteFile(filepath.Join(dir, ".done"), nil, 0o644)
}

// BenchmarkScanSites scans a generated tree (10,000 sites under make
// bench) and reports sites/s and the peak heap.
func BenchmarkScanSites(b *testing.B) {
	n := benchSites()
	dir := os.Getenv("VIGIE_WEB_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	} else {
		dir = filepath.Join(dir, "tree-"+strconv.Itoa(n))
	}
	genTree(b, dir, n)
	data := EmbeddedData()
	runtime.GC()
	stopSampling := sampleHeapPeak(20 * time.Millisecond)
	b.ResetTimer()
	start := time.Now()
	installs := 0
	for i := 0; i < b.N; i++ {
		installs = 0
		_, err := Scan(context.Background(), []string{dir}, ScanOptions{Data: data, MaxDepth: 3, NestedDepth: 2},
			func(*Install) { installs++ })
		if err != nil {
			b.Fatal(err)
		}
	}
	el := time.Since(start)
	b.StopTimer()
	peak := stopSampling()
	b.ReportMetric(float64(n*b.N)/el.Seconds(), "sites/s")
	b.ReportMetric(float64(peak)/(1<<20), "MB-peak-heap")
	b.ReportMetric(float64(installs), "installs")
}

// genLog returns realistic access-log lines: pages, static files, bots,
// some POSTs, about 1% attacks, in both formats.
func genLog(n int) [][]byte {
	r := rand.New(rand.NewPCG(1, 2))
	targets := []string{"/", "/index.php", "/node/42", "/blog/2025/11/hello-world/", "/wp-content/themes/x/style.css?ver=6.8.3",
		"/sites/default/files/css/css_abc.css", "/favicon.ico", "/robots.txt", "/feed/", "/search?q=mail+server",
		"/wp-admin/admin-ajax.php", "/images/logo.png", "/api/v1/items?page=2&sort=name"}
	attacks := []string{"/?q=user/password&name%5B%23post_render%5D%5B%5D=passthru", "/wp-login.php", "/xmlrpc.php",
		"/wp-config.php.bak", "/.env", "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php"}
	uas := []string{"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "curl/8.5.0"}
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	lines := make([][]byte, n)
	for i := range lines {
		ts := base.Add(time.Duration(i) * 5 * time.Millisecond).Format("02/Jan/2006:15:04:05 -0700")
		method, target := "GET", targets[r.IntN(len(targets))]
		if r.IntN(100) == 0 {
			method, target = "POST", attacks[r.IntN(len(attacks))]
		} else if r.IntN(20) == 0 {
			method = "POST"
		}
		ip := fmt.Sprintf("%d.%d.%d.%d", 1+r.IntN(223), r.IntN(256), r.IntN(256), 1+r.IntN(254))
		vhost := ""
		if i%2 == 0 {
			vhost = "www.example.org "
		}
		lines[i] = []byte(fmt.Sprintf(`%s%s - - [%s] "%s %s HTTP/1.1" %d %d "https://www.example.org/" "%s"`,
			vhost, ip, ts, method, target, 200, 1000+r.IntN(50000), uas[r.IntN(len(uas))]))
	}
	return lines
}

// BenchmarkAccessLog parses and runs the detectors on access-log lines on
// one goroutine and reports lines/s (aim: 500,000).
func BenchmarkAccessLog(b *testing.B) {
	lines := genLog(200_000)
	if dir := os.Getenv("VIGIE_WEB_BENCH_DIR"); dir != "" {
		// The bench script runs its peer on the same lines.
		os.WriteFile(filepath.Join(dir, "access.log"), append(bytes.Join(lines, []byte("\n")), '\n'), 0o644)
	}
	d := NewLogDetector(LogOptions{})
	var size int64
	for _, l := range lines {
		size += int64(len(l)) + 1
	}
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		for _, l := range lines {
			d.FeedLine(l)
		}
	}
	b.ReportMetric(float64(len(lines)*b.N)/time.Since(start).Seconds(), "lines/s")
}
