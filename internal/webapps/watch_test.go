package webapps

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie/vigie/internal/metrics"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/testutil"
	"github.com/vigie/vigie/internal/vigie"
)

// collector is a Sink that keeps what it gets.
type collector struct {
	mu sync.Mutex
	fs []vigie.Finding
}

func (c *collector) Emit(ctx context.Context, f vigie.Finding) error {
	if err := f.Validate(); err != nil {
		return err
	}
	c.mu.Lock()
	c.fs = append(c.fs, f)
	c.mu.Unlock()
	return nil
}

func (c *collector) all() []vigie.Finding {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]vigie.Finding(nil), c.fs...)
}

// wait polls until ok holds over the findings so far.
func (c *collector) wait(t *testing.T, what string, ok func([]vigie.Finding) bool) []vigie.Finding {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if fs := c.all(); ok(fs) {
			return fs
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s; findings: %+v", what, c.all())
	return nil
}

type memState struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (s *memState) GetState(ctx context.Context, watch, key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.m[watch+"/"+key]; ok {
		return b, nil
	}
	return nil, store.ErrNotFound
}

func (s *memState) PutState(ctx context.Context, watch, key string, v []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string][]byte{}
	}
	s.m[watch+"/"+key] = append([]byte(nil), v...)
	return nil
}

func startWatch(t *testing.T, o WatchOptions) (*Watch, *collector) {
	t.Helper()
	c := &collector{}
	o.Sink = c
	if o.State == nil {
		o.State = &memState{}
	}
	o.Metrics = metrics.New(prometheus.NewRegistry())
	o.Poll = 20 * time.Millisecond
	if o.CheckInterval == 0 {
		o.CheckInterval = 50 * time.Millisecond
	}
	if o.ScanInterval == 0 {
		o.ScanInterval = time.Hour
	}
	w := NewWatch(o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("watch did not stop")
		}
	})
	return w, c
}

func has(fs []vigie.Finding, rule, subject string, resolved bool) bool {
	for _, f := range fs {
		if f.Rule == rule && f.Subject == subject && f.Resolved == resolved {
			return true
		}
	}
	return false
}

// The daemon notices an upgrade within a check interval, re-rates the
// install and resolves its vulnerable finding; a new site is found too.
func TestWatchRescansOnChange(t *testing.T) {
	now := dataDate(t)
	root := copySites(t, now.Add(-24*time.Hour))
	drupal := filepath.Join(root, "drupal7")
	_, c := startWatch(t, WatchOptions{Roots: []string{root}, Scan: ScanOptions{MaxDepth: 2, NestedDepth: 1},
		Now: func() time.Time { return now }})
	c.wait(t, "drupal 7.57 vulnerable", func(fs []vigie.Finding) bool { return has(fs, "install-vulnerable", drupal, false) })
	for _, f := range c.all() {
		if f.Rule == "install-vulnerable" && f.Subject == drupal && f.Evidence["uid"] != strconv.Itoa(os.Getuid()) || f.Group != OwnerGroup(os.Getuid()) {
			t.Errorf("group = %q", f.Group)
		}
	}
	// Upgrade to 7.103 (cycle ended 2025-01-05: end-of-life, no longer vulnerable).
	bs := filepath.Join(drupal, "includes/bootstrap.inc")
	os.WriteFile(bs, []byte("<?php\ndefine('VERSION', '7.103');\n"), 0o644)
	c.wait(t, "vulnerable resolved after upgrade", func(fs []vigie.Finding) bool {
		return has(fs, "install-vulnerable", drupal, true) && has(fs, "install-eol", drupal, false)
	})
	// A new site appears.
	nc := filepath.Join(root, "newsite")
	os.MkdirAll(nc, 0o755)
	testutil.CopyTree(t, filepath.Join(root, "joomla4"), nc, 0o640)
	c.wait(t, "new site found", func(fs []vigie.Finding) bool { return has(fs, "install-vulnerable", nc, false) })
}

// Findings of a site removed while vigie was stopped are resolved at the
// next start (the active set is kept in the store).
func TestWatchResolvesAcrossRestart(t *testing.T) {
	now := dataDate(t)
	root := copySites(t, now.Add(-24*time.Hour))
	st := &memState{}
	site := filepath.Join(root, "roundcube")
	func() {
		w := NewWatch(WatchOptions{Roots: []string{root}, Scan: ScanOptions{MaxDepth: 2}, State: st, Sink: &collector{},
			Metrics: metrics.New(prometheus.NewRegistry()), Now: func() time.Time { return now }})
		w.scan(context.Background(), EmbeddedData())
	}()
	os.RemoveAll(site)
	c := &collector{}
	w := NewWatch(WatchOptions{Roots: []string{root}, Scan: ScanOptions{MaxDepth: 2}, State: st, Sink: c,
		Metrics: metrics.New(prometheus.NewRegistry()), Now: func() time.Time { return now }})
	w.scan(context.Background(), EmbeddedData())
	if !has(c.all(), "install-vulnerable", site, true) {
		t.Errorf("removed site not resolved: %+v", c.all())
	}
}

func TestFollowerRotationAndTruncation(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "access.log")
	os.WriteFile(log, []byte("old line before start\n"), 0o644)
	_, c := startWatch(t, WatchOptions{Logs: []LogSource{{Path: log}}})
	time.Sleep(100 * time.Millisecond)
	appendLine := func(path string, b []byte) {
		f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
		f.Write(b)
		f.Close()
	}
	probe := func(ip string) []byte {
		return append(logLine(ip, "GET", "/wp-config.php.bak", 200, t0), '\n')
	}
	appendLine(log, probe("10.0.0.1"))
	c.wait(t, "first line", func(fs []vigie.Finding) bool { return has(fs, "config-backup-served", "10.0.0.1", false) })
	// logrotate: move away, create a new file.
	os.Rename(log, log+".1")
	appendLine(log+".1", probe("10.0.0.2")) // written to the old file before the switch
	appendLine(log, probe("10.0.0.3"))
	appendLine(log, probe("10.0.0.5"))
	c.wait(t, "rotation", func(fs []vigie.Finding) bool {
		return has(fs, "config-backup-served", "10.0.0.2", false) && has(fs, "config-backup-served", "10.0.0.3", false) &&
			has(fs, "config-backup-served", "10.0.0.5", false)
	})
	// copytruncate: truncated in place, then shorter than where the
	// follower was (as after any real truncation, sooner or later).
	os.Truncate(log, 0)
	time.Sleep(100 * time.Millisecond)
	appendLine(log, probe("10.0.0.4"))
	c.wait(t, "truncation", func(fs []vigie.Finding) bool { return has(fs, "config-backup-served", "10.0.0.4", false) })
	for _, f := range c.all() {
		if f.Evidence["target"] == "" {
			t.Errorf("finding without target: %+v", f)
		}
	}
}

type memSeries struct {
	mu     sync.Mutex
	points []vigie.Sample
}

func (m *memSeries) AddSamples(ctx context.Context, s []vigie.Sample) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.points = append(m.points, s...)
	return nil
}

// Each scan leaves the dashboard's installs-by-status points.
func TestWatchStoresInstallsByStatus(t *testing.T) {
	now := dataDate(t)
	root := copySites(t, now.Add(-24*time.Hour))
	series := &memSeries{}
	_, c := startWatch(t, WatchOptions{Roots: []string{root}, Scan: ScanOptions{MaxDepth: 2}, Series: series,
		Now: func() time.Time { return now }})
	c.wait(t, "the first scan's findings", func(fs []vigie.Finding) bool { return len(fs) > 0 })
	waitUntil := time.Now().Add(10 * time.Second)
	for {
		series.mu.Lock()
		byStatus := map[string]float64{}
		for _, p := range series.points {
			if p.Series == string(SeriesInstalls) {
				byStatus[p.Subject] = p.Value
			}
		}
		series.mu.Unlock()
		if byStatus[string(StatusVulnerable)] >= 1 && byStatus[string(StatusCurrent)] >= 1 {
			return
		}
		if time.Now().After(waitUntil) {
			t.Fatalf("installs by status: %v", byStatus)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A plugin upgrade on a current WordPress is noticed within a check
// interval: the install turns vulnerable when a vulnerable plugin version
// lands, and back when it is updated.
func TestWatchRescansOnPluginChange(t *testing.T) {
	now := dataDate(t)
	root := t.TempDir()
	wp := filepath.Join(root, "blog")
	writeFile(t, filepath.Join(wp, "wp-includes/version.php"), "<?php\n$wp_version = '6.8.3';\n")
	writeFile(t, filepath.Join(wp, "wp-settings.php"), "<?php\n")
	main := filepath.Join(wp, "wp-content/plugins/wp-file-manager/file_folder_manager.php")
	writeFile(t, main, "<?php\n/*\nPlugin Name: WP File Manager\nVersion: 7.2\n*/\n")
	_, c := startWatch(t, WatchOptions{Roots: []string{root}, Scan: ScanOptions{MaxDepth: 1},
		CheckInterval: 50 * time.Millisecond, Now: func() time.Time { return now }})
	time.Sleep(200 * time.Millisecond)
	if has(c.all(), "install-vulnerable", wp, false) {
		t.Fatal("vulnerable before the downgrade")
	}
	writeFile(t, main, "<?php\n/*\nPlugin Name: WP File Manager\nVersion: 6.8\n*/\n")
	c.wait(t, "vulnerable through the plugin", func(fs []vigie.Finding) bool { return has(fs, "install-vulnerable", wp, false) })
	writeFile(t, main, "<?php\n/*\nPlugin Name: WP File Manager\nVersion: 8.0.1\n*/\n")
	c.wait(t, "resolved after the plugin update", func(fs []vigie.Finding) bool { return has(fs, "install-vulnerable", wp, true) })
}

// A root the scan cannot read makes the watch blind there (with the
// error), the other root is still scanned, and the findings of the sites
// in the unreadable root are kept, not resolved: a site out of sight is
// not a site upgraded. Once readable again the blindness clears. (A
// symbolic link loop refuses root too; the permission case, a docroot of
// mode 0700 under a readable root, runs as an unprivileged user in
// cmd/vigie's non-root tests.)
func TestUnreadableRootIsBlindAndKeepsItsFindings(t *testing.T) {
	now := dataDate(t)
	readable := copySites(t, now.Add(-24*time.Hour))
	hidden := copySites(t, now.Add(-24*time.Hour))
	st := &memState{}
	c := &collector{}
	w := NewWatch(WatchOptions{Roots: []string{readable, hidden}, Scan: ScanOptions{MaxDepth: 2}, State: st, Sink: c,
		Metrics: metrics.New(prometheus.NewRegistry()), Now: func() time.Time { return now }})
	w.scan(context.Background(), EmbeddedData())
	drupal := filepath.Join(hidden, "drupal7")
	if !has(c.all(), "install-vulnerable", drupal, false) {
		t.Fatalf("no finding for %s: %+v", drupal, c.all())
	}
	if r := w.Health(now); len(r.Blind) != 0 || r.LastSuccess.IsZero() {
		t.Fatalf("blind after a complete scan: %+v", r)
	}
	moved := hidden + ".moved"
	if err := os.Rename(hidden, moved); err != nil {
		t.Fatal(err)
	}
	os.Symlink(filepath.Base(hidden), hidden) // hidden -> hidden
	c2 := &collector{}
	w.o.Sink = c2
	w.scan(context.Background(), EmbeddedData())
	if has(c2.all(), "install-vulnerable", drupal, true) {
		t.Errorf("the unreadable root's finding was resolved")
	}
	if !has(c2.all(), "install-vulnerable", filepath.Join(readable, "drupal7"), false) {
		t.Errorf("the readable root was not scanned: %+v", c2.all())
	}
	r := w.Health(now)
	if len(r.Blind) != 1 {
		t.Fatalf("blind = %+v, want one cause", r.Blind)
	}
	b := r.Blind[0]
	if b.Cause != CauseScanUnreadable || b.Subject != hidden || !strings.Contains(b.Summary, hidden) ||
		!strings.Contains(b.Summary, "too many levels of symbolic links") {
		t.Errorf("blind = %+v", b)
	}
	os.Remove(hidden)
	os.Rename(moved, hidden)
	w.scan(context.Background(), EmbeddedData())
	if r := w.Health(now); len(r.Blind) != 0 {
		t.Errorf("still blind once readable: %+v", r.Blind)
	}
	var active []activeFinding
	b2, _ := st.GetState(context.Background(), "web", "active")
	json.Unmarshal(b2, &active)
	found := false
	for _, a := range active {
		found = found || a.Subject == drupal && a.Rule == "install-vulnerable"
	}
	if !found {
		t.Errorf("the finding is no longer active: %+v", active)
	}
}
