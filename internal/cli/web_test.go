package cli

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigie/vigie/internal/testutil"
	"github.com/vigie/vigie/internal/webapps"
)

// Must show: a Drupal 7.57 is vulnerable with CVE-2018-7600 and a current
// WordPress is current. "Current" is the newest release the version data
// knows, so the WordPress tree is written with the data's own latest
// release: the test stays true when the data is refreshed.
func TestWebScanJSONDrupal757AndCurrentWordPress(t *testing.T) {
	root := t.TempDir()
	sites := "../webapps/testdata/sites"
	testutil.CopyTree(t, filepath.Join(sites, "drupal7"), filepath.Join(root, "alice", "drupal"), 0o640)
	testutil.CopyTree(t, filepath.Join(sites, "wordpress"), filepath.Join(root, "bob", "blog"), 0o640)
	latest := newestWordPress(t)
	vf := filepath.Join(root, "bob", "blog", "wp-includes", "version.php")
	b, _ := os.ReadFile(vf)
	os.WriteFile(vf, []byte(strings.Replace(string(b), "'6.8.3'", "'"+latest+"'", 1)), 0o644)

	code, out, stderr := runCLI(t, nil, "--data", t.TempDir(), "web", "scan", "--json", root)
	if code != exitFail {
		t.Errorf("exit %d, want %d (a vulnerable install was found); stderr: %s", code, exitFail, stderr)
	}
	got := map[string]map[string]any{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("not one JSON object per line: %q: %v", sc.Text(), err)
		}
		for _, k := range []string{"path", "app", "version", "status", "advisories", "owner"} {
			if _, ok := m[k]; !ok {
				t.Errorf("%s: no %q", m["path"], k)
			}
		}
		got[m["app"].(string)] = m
	}
	if len(got) != 2 {
		t.Fatalf("installs = %v\n%s", len(got), out)
	}
	d := got["drupal"]
	if d["version"] != "7.57" || d["status"] != "vulnerable" || !strings.Contains(toString(d["advisories"]), "CVE-2018-7600") {
		t.Errorf("drupal = %v", d)
	}
	w := got["wordpress"]
	if w["version"] != latest || w["status"] != "current" || len(w["advisories"].([]any)) != 0 {
		t.Errorf("wordpress = %v", w)
	}
	if d["path"] != filepath.Join(root, "alice", "drupal") || d["owner"] == "" {
		t.Errorf("drupal path/owner = %v %v", d["path"], d["owner"])
	}
}

func toString(v any) string { b, _ := json.Marshal(v); return string(b) }

func newestWordPress(t *testing.T) string {
	t.Helper()
	d := webapps.EmbeddedData()
	var best webapps.Version
	for _, c := range d.Apps["wordpress"].Cycles {
		if c.EOL != "" {
			continue
		}
		v := webapps.MustVersion(c.Latest)
		if best.Nums == nil || v.Compare(best) > 0 {
			best = v
		}
	}
	return best.Raw
}

func TestWebScanUsage(t *testing.T) {
	if code, _, _ := runCLI(t, nil, "web", "scan"); code != exitUsage {
		t.Errorf("no DIR: exit %d", code)
	}
	code, out, _ := runCLI(t, nil, "web", "scan", "--help")
	if code != exitOK || !strings.Contains(out, "--json") {
		t.Errorf("help: %d %s", code, out)
	}
	code, _, stderr := runCLI(t, nil, "--data", t.TempDir(), "web", "scan", "/nonexistent/dir")
	if code != exitOK || !strings.Contains(stderr, "/nonexistent/dir") {
		t.Errorf("missing dir: %d %q", code, stderr)
	}
}

// update-data takes a file or a URL, checks it, and only then replaces the
// data; scans then use it.
func TestWebUpdateData(t *testing.T) {
	dataDir := t.TempDir()
	good := webapps.EmbeddedData()
	good.Date = "2030-01-02"
	good.Apps["wordpress"].Cycles[0].Latest = good.Apps["wordpress"].Cycles[0].Cycle + ".99"
	goodJSON, err := good.Encode()
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/good.json", func(w http.ResponseWriter, r *http.Request) { w.Write(goodJSON) })
	mux.HandleFunc("/bad.json", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"schema": 1, "apps": {}}`)) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	base := "http://" + ln.Addr().String()

	code, _, stderr := runCLI(t, nil, "--data", dataDir, "web", "update-data", base+"/good.json")
	if code != exitOK {
		t.Fatalf("good URL: %d %s", code, stderr)
	}
	_, out, _ := runCLI(t, nil, "--data", dataDir, "web", "data")
	if !strings.Contains(out, "2030-01-02") || !strings.Contains(out, filepath.Join(dataDir, webapps.DataFileName)) {
		t.Errorf("web data after update:\n%s", out)
	}
	// A bad document is refused and the good data stays.
	for _, src := range []string{base + "/bad.json", base + "/missing.json", filepath.Join(t.TempDir(), "nofile.json")} {
		code, _, stderr = runCLI(t, nil, "--data", dataDir, "web", "update-data", src)
		if code != exitFail || !strings.Contains(stderr, "current data stays") {
			t.Errorf("%s: exit %d, %s", src, code, stderr)
		}
	}
	_, out, _ = runCLI(t, nil, "--data", dataDir, "web", "data")
	if !strings.Contains(out, "2030-01-02") {
		t.Errorf("bad update replaced the data:\n%s", out)
	}
	// From a file too.
	f := filepath.Join(t.TempDir(), "v.json")
	good.Date = "2030-02-03"
	b, _ := good.Encode()
	os.WriteFile(f, b, 0o644)
	if code, _, stderr := runCLI(t, nil, "--data", dataDir, "web", "update-data", f); code != exitOK {
		t.Fatalf("file: %d %s", code, stderr)
	}
	_, out, _ = runCLI(t, nil, "--data", dataDir, "web", "data")
	if !strings.Contains(out, "2030-02-03") {
		t.Errorf("file update not used:\n%s", out)
	}
}

// --wordfence imports the feed's plugin and theme advisories into the
// current data; a scan then rates a WordPress through its plugins.
func TestWebUpdateDataWordfence(t *testing.T) {
	dataDir := t.TempDir()
	code, out, stderr := runCLI(t, nil, "--data", dataDir, "web", "update-data", "--wordfence", "../webapps/testdata/wordfence/feed.json")
	if code != exitOK || !strings.Contains(out, "advisories on") {
		t.Fatalf("exit %d: %s %s", code, out, stderr)
	}
	d, err := webapps.LoadData(filepath.Join(dataDir, webapps.DataFileName))
	if err != nil {
		t.Fatal(err)
	}
	if ids := d.ExtensionAdvisories(webapps.KindWPPlugin, "backwpup", "4.0.1"); len(ids) != 1 || ids[0] != "CVE-2023-5775" {
		t.Errorf("backwpup 4.0.1: %v", ids)
	}
	// The feed replaced the shipped WordPress plugin subset: wp-file-manager is not in it.
	if ids := d.ExtensionAdvisories(webapps.KindWPPlugin, "wp-file-manager", "6.8"); len(ids) != 0 {
		t.Errorf("wp-file-manager kept: %v", ids)
	}
	// A bad feed leaves the data alone.
	bad := filepath.Join(t.TempDir(), "feed.json")
	os.WriteFile(bad, []byte(`[1,2]`), 0o644)
	if code, _, stderr := runCLI(t, nil, "--data", dataDir, "web", "update-data", "--wordfence", bad); code != exitFail || !strings.Contains(stderr, "current data stays") {
		t.Errorf("bad feed: %d %s", code, stderr)
	}
}
