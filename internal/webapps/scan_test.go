package webapps

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite golden files")

// dataDate is the clock of the tests that rate installs: the data date, so
// that "current" means current as the data knows it.
func dataDate(t testing.TB) time.Time {
	t.Helper()
	return EmbeddedData().Time().Add(12 * time.Hour)
}

// copySites copies testdata/sites into a temp dir with fixed modes and
// times: git keeps neither.
func copySites(t testing.TB, recent time.Time) string {
	t.Helper()
	dst := t.TempDir()
	testutil.CopyTree(t, "testdata/sites", dst, 0o640)
	// The Drupal 7 settings.php is left world-readable on purpose.
	if err := os.Chmod(filepath.Join(dst, "drupal7/sites/default/settings.php"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Date(2019, 3, 1, 0, 0, 0, 0, time.UTC)
	filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
		ts := recent
		if strings.Contains(p, "/joomla3") || strings.Contains(p, "/magento1") {
			ts = old // abandoned sites
		}
		return os.Chtimes(p, ts, ts)
	})
	return dst
}

func scanAll(t testing.TB, roots []string, o ScanOptions) ([]*Install, ScanStats) {
	t.Helper()
	var list []*Install
	stats, err := Scan(context.Background(), roots, o, func(in *Install) { list = append(list, in) })
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(list, func(a, b *Install) int { return strings.Compare(a.Path, b.Path) })
	return list, stats
}

func TestScanTestdataGolden(t *testing.T) {
	now := dataDate(t)
	root := copySites(t, now.Add(-30*24*time.Hour))
	list, stats := scanAll(t, []string{root}, ScanOptions{Data: EmbeddedData(), Now: func() time.Time { return now },
		MaxDepth: 3, NestedDepth: 2, AbandonedAfter: 180 * 24 * time.Hour})
	var b strings.Builder
	for _, in := range list {
		rel, _ := filepath.Rel(root, in.Path)
		var secrets []string
		for _, s := range in.ReadableSecrets {
			r, _ := filepath.Rel(root, s)
			secrets = append(secrets, r)
		}
		fmt.Fprintf(&b, "%s %s %q %s advisories=%s abandoned=%v readable=%s composer=%s\n", rel, in.App, in.Version, in.Status,
			strings.Join(in.Advisories, ","), in.Abandoned, strings.Join(secrets, ","), in.ComposerVersion)
	}
	fmt.Fprintf(&b, "installs=%d errors=%d\n", stats.Installs, stats.Errors)
	golden(t, "testdata/scan.golden", b.String())
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// Debian's wordpress package: the real tree in /usr/share/wordpress.
func TestScanDebianWordPress(t *testing.T) {
	const dir = "/usr/share/wordpress"
	if _, err := os.Stat(dir + "/wp-includes/version.php"); err != nil {
		requireDebianWordPress(t)
	}
	out, err := exec.Command("dpkg-query", "-W", "-f=${Version}", "wordpress").Output()
	if err != nil {
		t.Fatalf("dpkg-query: %v", err)
	}
	// 6.1.9+dfsg1-0+deb12u1 -> 6.1.9
	upstream := strings.SplitN(strings.SplitN(string(out), "+", 2)[0], "-", 2)[0]
	list, _ := scanAll(t, []string{dir}, ScanOptions{Data: EmbeddedData(), MaxDepth: 1})
	if len(list) != 1 {
		t.Fatalf("found %d installs in %s, want 1", len(list), dir)
	}
	in := list[0]
	if in.App != "wordpress" || in.Version != upstream {
		t.Errorf("got %s %s, want wordpress %s (dpkg)", in.App, in.Version, upstream)
	}
	if in.Status == StatusUnknown {
		t.Errorf("status unknown for %s: the data has no cycle for it", in.Version)
	}
	for _, s := range in.ReadableSecrets {
		if s == dir+"/wp-config.php" {
			t.Errorf("Debian's wp-config.php dispatcher holds no secret but was reported")
		}
	}
}

func requireDebianWordPress(t *testing.T) {
	t.Helper()
	if os.Getenv("VIGIE_INTEGRATION") == "require" {
		t.Fatal("the wordpress Debian package is not installed; `make test` installs it (testdeps/web.apt)")
	}
	t.Skip("the wordpress Debian package is not installed")
}

func TestScanBadInput(t *testing.T) {
	root := t.TempDir()
	site := filepath.Join(root, "loop")
	os.MkdirAll(filepath.Join(site, "a"), 0o755)
	// Symlink loops: a -> .., self -> itself.
	os.Symlink("..", filepath.Join(site, "a", "up"))
	os.Symlink("self", filepath.Join(site, "self"))
	// An unreadable directory (skipped when running as root, which reads all).
	locked := filepath.Join(root, "locked")
	os.MkdirAll(filepath.Join(locked, "inside"), 0o755)
	os.Chmod(locked, 0)
	t.Cleanup(func() { os.Chmod(locked, 0o755) })
	// A huge version file: 200 MiB, sparse, version constant at the end.
	huge := filepath.Join(root, "huge")
	os.MkdirAll(filepath.Join(huge, "wp-includes"), 0o755)
	os.WriteFile(filepath.Join(huge, "wp-settings.php"), []byte("<?php"), 0o644)
	f, err := os.Create(filepath.Join(huge, "wp-includes/version.php"))
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(200 << 20)
	f.WriteAt([]byte("$wp_version = '6.8.3';"), 200<<20)
	f.Close()
	// A version file that is a FIFO: must not block the scan.
	fifo := filepath.Join(root, "fifo")
	os.MkdirAll(filepath.Join(fifo, "wp-includes"), 0o755)
	os.WriteFile(filepath.Join(fifo, "wp-settings.php"), []byte("<?php"), 0o644)
	if err := exec.Command("mkfifo", filepath.Join(fifo, "wp-includes/version.php")).Run(); err != nil {
		t.Logf("mkfifo: %v", err)
	}
	// A version file that is a symlink to a directory.
	odd := filepath.Join(root, "odd")
	os.MkdirAll(filepath.Join(odd, "core/lib"), 0o755)
	os.MkdirAll(filepath.Join(odd, "core/includes"), 0o755)
	os.WriteFile(filepath.Join(odd, "core/includes/bootstrap.inc"), nil, 0o644)
	os.Symlink("/", filepath.Join(odd, "core/lib/Drupal.php"))

	done := make(chan struct{})
	var list []*Install
	var stats ScanStats
	go func() {
		defer close(done)
		list, stats = scanAll(t, []string{root}, ScanOptions{Data: EmbeddedData(), MaxDepth: 6})
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("scan did not finish")
	}
	byName := map[string]*Install{}
	for _, in := range list {
		byName[filepath.Base(in.Path)] = in
	}
	if in := byName["huge"]; in == nil || in.Version != "" || in.Status != StatusUnknown {
		t.Errorf("huge: %+v (want found, version unreadable past the first 64 KiB)", in)
	}
	if in := byName["fifo"]; in == nil || in.Version != "" || len(in.Problems) == 0 {
		t.Errorf("fifo: %+v (want found with a problem)", in)
	}
	if in := byName["odd"]; in == nil || in.Version != "" {
		t.Errorf("odd: %+v", in)
	}
	if os.Geteuid() != 0 {
		found := false
		for _, e := range stats.Samples {
			if e.Path == locked {
				found = true
			}
		}
		if !found {
			t.Errorf("the unreadable dir is not reported: %+v", stats.Samples)
		}
	}
}

func TestScanMaxDirs(t *testing.T) {
	root := t.TempDir()
	for i := 0; i < 50; i++ {
		os.MkdirAll(filepath.Join(root, fmt.Sprint(i)), 0o755)
	}
	_, stats := scanAll(t, []string{root}, ScanOptions{MaxDirs: 10})
	if !stats.Truncated || stats.Dirs != 10 {
		t.Errorf("stats = %+v, want truncated at 10", stats)
	}
}

// A web root of 100,000 sites: the scan finishes, and its heap stays flat
// because installs are streamed and directories read in batches.
func TestScanHundredThousandSites(t *testing.T) {
	if testing.Short() {
		t.Skip("creates 100,000 directories")
	}
	// On tmpfs when there is one: the test is about the scan's memory,
	// not about the disk's speed at creating directories.
	root := t.TempDir()
	if d, err := os.MkdirTemp("/dev/shm", "vigie-web-"); err == nil {
		root = d
		t.Cleanup(func() { os.RemoveAll(d) })
	}
	const n = 100_000
	for i := 0; i < n; i++ {
		if err := os.Mkdir(filepath.Join(root, fmt.Sprintf("site%06d", i)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// A few real installs among them.
	for i := 0; i < n; i += 20_000 {
		testutil.CopyTree(t, "testdata/sites/wordpress", filepath.Join(root, fmt.Sprintf("site%06d", i)), 0o644)
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	stopSampling := sampleHeapPeak(5 * time.Millisecond)
	installs := 0
	stats, err := Scan(context.Background(), []string{root}, ScanOptions{Data: EmbeddedData(), MaxDepth: 2}, func(*Install) {
		installs++
	})
	peak := stopSampling()
	if err != nil {
		t.Fatal(err)
	}
	if installs != 5 || stats.Dirs < n {
		t.Errorf("installs %d dirs %d", installs, stats.Dirs)
	}
	// The whole listing of 100,000 names would be ~10 MB; batches keep
	// the live heap far under that.
	if grown := int64(peak) - int64(before.HeapInuse); grown > 8<<20 {
		t.Errorf("heap grew by %d MB scanning %d sites", grown>>20, n)
	}
}
