package main

// The daemon as production runs it: the systemd unit starts vigie as the
// system user vigie, which reads Debian's mail log only through group adm,
// may not enter a site's docroot of mode 0700 and owns /var/lib/vigie.
// CI runs as root, where none of these paths would ever run: these tests
// create a system user (useradd --system, as the package's postinst does
// with adduser) and run the real binary as it, with the supplementary
// groups the group database gives it (what systemd's initgroups does).

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/mail"
	"github.com/vigie/vigie/internal/selfwatch"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/store/sqlite"
	"github.com/vigie/vigie/internal/testutil"
	"github.com/vigie/vigie/internal/webapps"
)

// sysUser is a system user created for one test and removed after it.
type sysUser struct {
	name     string
	uid, gid uint32
	groups   []uint32 // supplementary, from the group database
}

// testUserComment marks the users these tests create: one left behind by
// a killed run is removed by the next.
const testUserComment = "vigie test user, removed by the test"

var staleUsers sync.Once

// newSysUser creates a system user (no home, no shell, its own group) in
// the given supplementary groups. It needs root: elsewhere the test is
// skipped, or fails under `make test` (VIGIE_INTEGRATION=require), which
// CI runs as root, like the Postfix tests.
func newSysUser(t *testing.T, groups ...string) *sysUser {
	t.Helper()
	testutil.RequireRoot(t, "running vigie as an unprivileged system user (created with useradd)")
	useradd := testutil.RequireProgram(t, "useradd")
	userdel := testutil.RequireProgram(t, "userdel")
	staleUsers.Do(func() { removeStaleUsers(t, userdel) })
	name := fmt.Sprintf("vigie-t%06d", rand.IntN(1_000_000))
	args := []string{"--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
		"--shell", "/usr/sbin/nologin", "--comment", testUserComment}
	if len(groups) > 0 {
		args = append(args, "--groups", strings.Join(groups, ","))
	}
	if out, err := exec.Command(useradd, append(args, name)...).CombinedOutput(); err != nil {
		t.Fatalf("useradd %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command(userdel, name).CombinedOutput(); err != nil {
			t.Errorf("userdel %s: %v: %s", name, err, out)
		}
	})
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	su := &sysUser{name: name, uid: uint32(uid), gid: uint32(gid)}
	ids, err := u.GroupIds()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		g, _ := strconv.ParseUint(id, 10, 32)
		su.groups = append(su.groups, uint32(g))
	}
	if uid == 0 || gid == 0 {
		t.Fatalf("useradd gave %s uid %d gid %d", name, uid, gid)
	}
	return su
}

func removeStaleUsers(t *testing.T, userdel string) {
	f, err := os.Open("/etc/passwd")
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var stale []string
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) >= 5 && fields[4] == testUserComment {
			stale = append(stale, fields[0])
		}
	}
	for _, name := range stale {
		if out, err := exec.Command(userdel, name).CombinedOutput(); err != nil {
			t.Logf("removing the stale test user %s: %v: %s", name, err, out)
		}
	}
}

func (u *sysUser) credential() *syscall.Credential {
	return &syscall.Credential{Uid: u.uid, Gid: u.gid, Groups: u.groups}
}

// place is a directory tree the test user can reach (t.TempDir is 0700).
func place(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "vigie-nonroot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// The binary's directory, made by TestMain with MkdirTemp (0700).
	if err := os.Chmod(filepath.Dir(binary), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// own sets path's owner, group and mode (uid/gid -1: unchanged).
func own(t *testing.T, path string, uid, gid int, mode os.FileMode) {
	t.Helper()
	if err := os.Chown(path, uid, gid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// baseConfig turns off every watch the test does not name (the machine's
// own /var/www, public addresses or Postfix must not change the result)
// and checks blindness every 200ms.
const baseConfig = `http:
  listen: 127.0.0.1:0
self:
  check_interval: 200ms
blocklist:
  enabled: off
policy:
  enabled: off
`

// vigieAs is a vigie command run as u the way the systemd unit runs it:
// its config root:vigie 0640, its data directory given, a clean
// environment.
func vigieAs(t *testing.T, u *sysUser, dir, cfg, data string, args ...string) *exec.Cmd {
	t.Helper()
	path := filepath.Join(dir, "vigie.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o640); err != nil {
		t.Fatal(err)
	}
	own(t, path, 0, int(u.gid), 0o640)
	cmd := exec.Command(binary, append(args, "--config", path)...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + dir, "VIGIE_DATA=" + data, "TZ=UTC"}
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: u.credential()}
	return cmd
}

// dataDir is the data directory as the package makes it: vigie:vigie 0750.
func dataDir(t *testing.T, u *sysUser, dir string) string {
	t.Helper()
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o750); err != nil {
		t.Fatal(err)
	}
	own(t, data, int(u.uid), int(u.gid), 0o750)
	return data
}

func (d *daemon) health(t *testing.T) (int, selfwatch.Status) {
	t.Helper()
	resp, err := http.Get("http://" + d.addr + "/healthz")
	if err != nil {
		t.Fatalf("/healthz: %v (did vigie die?)", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var st selfwatch.Status
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("/healthz body %q: %v", b, err)
	}
	return resp.StatusCode, st
}

// waitHealth polls /healthz until ok says so; the last answer is returned.
func (d *daemon) waitHealth(t *testing.T, what string, ok func(code int, st selfwatch.Status) bool) selfwatch.Status {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, st := d.health(t)
		if ok(code, st) {
			return st
		}
		if time.Now().After(deadline) {
			b, _ := json.MarshalIndent(st, "", "  ")
			t.Fatalf("waiting for %s: /healthz %d\n%s", what, code, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func watchStatus(st selfwatch.Status, name string) (selfwatch.WatchStatus, bool) {
	for _, w := range st.Watches {
		if w.Name == name {
			return w, true
		}
	}
	return selfwatch.WatchStatus{}, false
}

func blindOf(st selfwatch.Status, cause string) []selfwatch.BlindStatus {
	var out []selfwatch.BlindStatus
	for _, b := range st.Blind {
		if b.Cause == cause {
			out = append(out, b)
		}
	}
	return out
}

// stop ends the daemon with SIGTERM and checks it exits cleanly.
func (d *daemon) stop(t *testing.T) {
	t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	if err := d.cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v; log:\n%s", err, d.stderr.buf.String())
	}
}

// vigieAlerts reads the alerts of the vigie watch from a stopped daemon's store.
func vigieAlerts(t *testing.T, data string) map[string]string {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(data, "vigie.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	as, err := db.ListAlerts(context.Background(), store.AlertQuery{Watch: selfwatch.Name, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, a := range as {
		out[a.Rule+" "+a.Subject] = a.Summary
	}
	return out
}

const postfixLine = "Dec  4 17:20:01 mx postfix/smtpd[4242]: connect from unknown[198.51.100.7]\n"

func appendLog(t *testing.T, path, lines string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(lines); err != nil {
		t.Fatal(err)
	}
}

// The mail log as Debian's rsyslog makes it, root:adm 0640. As user vigie
// in group adm, the mail watch follows it. Without adm, the watch stays up
// and reports itself blind with the permission error, the fix to apply and
// a vigie alert; the daemon keeps running, and once the log is readable
// the watch sees again without a restart.
func TestNonRootMailLogOfGroupAdm(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the daemon as a system user")
	}
	adm, err := user.LookupGroup("adm")
	if err != nil {
		t.Fatalf("no group adm on this machine (Debian's base-passwd has it): %v", err)
	}
	admGID, _ := strconv.Atoi(adm.Gid)
	for _, inAdm := range []bool{true, false} {
		t.Run(fmt.Sprintf("in adm %v", inAdm), func(t *testing.T) {
			var u *sysUser
			if inAdm {
				u = newSysUser(t, "adm")
			} else {
				u = newSysUser(t)
			}
			dir := place(t)
			logDir := filepath.Join(dir, "log")
			os.Mkdir(logDir, 0o755)
			logFile := filepath.Join(logDir, "mail.log")
			if err := os.WriteFile(logFile, []byte(postfixLine), 0o640); err != nil {
				t.Fatal(err)
			}
			own(t, logFile, 0, admGID, 0o640)
			data := dataDir(t, u, dir)
			cfg := baseConfig + fmt.Sprintf(`mail:
  enabled: on
  source: file
  log_file: %s
  poll_interval: 50ms
  queue:
    enabled: off
web:
  enabled: off
`, logFile)
			d := launch(t, vigieAs(t, u, dir, cfg, data, "run"))
			// Logged once the history was read (its end is where the
			// follower starts): a line written after it is new.
			d.waitFor(t, regexp.MustCompile(`msg="mail watch started"`), nil)

			if inAdm {
				appendLog(t, logFile, postfixLine)
				st := d.waitHealth(t, "the mail watch to read the new line", func(code int, st selfwatch.Status) bool {
					w, ok := watchStatus(st, mail.WatchName)
					return ok && w.LastSuccess != nil
				})
				if code, _ := d.health(t); code != 200 || st.Status != "ok" {
					t.Errorf("/healthz %d %s, want 200 ok: %+v", code, st.Status, st)
				}
				d.stop(t)
				return
			}

			st := d.waitHealth(t, "the mail watch to say it cannot read the log", func(code int, st selfwatch.Status) bool {
				return code == http.StatusServiceUnavailable && len(blindOf(st, string(mail.CauseLogUnreadable))) > 0
			})
			b := blindOf(st, string(mail.CauseLogUnreadable))[0]
			t.Logf("/healthz says: %s", b.Summary)
			for _, want := range []string{logFile, "permission denied", "user " + u.name, ":adm 0640", "usermod -aG adm " + u.name} {
				if !strings.Contains(b.Summary, want) {
					t.Errorf("the blind report does not say %q: %s", want, b.Summary)
				}
			}
			w, _ := watchStatus(st, mail.WatchName)
			if !w.Up || w.Restarts != 0 {
				t.Errorf("mail watch up=%v restarts=%d: an unreadable log is blindness, not a crash loop", w.Up, w.Restarts)
			}
			// It keeps running and keeps saying so.
			time.Sleep(time.Second)
			if code, st := d.health(t); code != 503 || len(blindOf(st, string(mail.CauseLogUnreadable))) == 0 {
				t.Errorf("after a second: /healthz %d %+v", code, st.Blind)
			}
			// The admin gives vigie's group the log: seen again, no restart.
			// (Lines written before it opens are history to the follower,
			// which starts a log it never read at its end.)
			own(t, logFile, 0, int(u.gid), 0o640)
			d.waitHealth(t, "the blindness to clear", func(code int, st selfwatch.Status) bool {
				return code == 200 && len(blindOf(st, string(mail.CauseLogUnreadable))) == 0
			})
			appendLog(t, logFile, postfixLine)
			st = d.waitHealth(t, "the mail watch to read the log once allowed", func(code int, st selfwatch.Status) bool {
				w, ok := watchStatus(st, mail.WatchName)
				return code == 200 && ok && w.LastSuccess != nil
			})
			if w, _ := watchStatus(st, mail.WatchName); w.Restarts != 0 {
				t.Errorf("mail watch restarted %d times", w.Restarts)
			}
			d.stop(t)
			alerts := vigieAlerts(t, data)
			if s, ok := alerts[string(mail.CauseLogUnreadable)+" "+logFile]; !ok || !strings.Contains(s, "permission denied") {
				t.Errorf("no vigie alert for the unreadable log: %v", alerts)
			}
		})
	}
}

// A web root with a readable site and a docroot vigie's user may not
// enter (root 0700), and a second root it may not read at all: both are
// reported (which path, why, the vigie alert), the readable site is
// scanned and rated, the daemon and the watch keep running.
func TestNonRootUnreadableWebRoot(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the daemon as a system user")
	}
	u := newSysUser(t)
	dir := place(t)
	www := filepath.Join(dir, "www")
	locked := filepath.Join(dir, "www2")
	readable := filepath.Join(www, "site-a")
	hidden := filepath.Join(www, "site-b")
	sites := filepath.Join("..", "..", "internal", "webapps", "testdata", "sites")
	testutil.CopyTree(t, filepath.Join(sites, "wordpress"), readable, 0o644)
	testutil.CopyTree(t, filepath.Join(sites, "drupal7"), hidden, 0o644)
	testutil.CopyTree(t, filepath.Join(sites, "joomla4"), filepath.Join(locked, "site-c"), 0o644)
	own(t, hidden, 0, 0, 0o700)
	own(t, locked, 0, 0, 0o700)
	data := dataDir(t, u, dir)
	cfg := baseConfig + fmt.Sprintf(`mail:
  enabled: off
web:
  enabled: on
  roots: [%s, %s]
  max_depth: 2
  access_logs:
    - path: %s
`, www, locked, filepath.Join(dir, "access.log"))
	// The access log: root 0600, as a misconfigured logrotate leaves it.
	os.WriteFile(filepath.Join(dir, "access.log"), nil, 0o600)
	d := launch(t, vigieAs(t, u, dir, cfg, data, "run"))
	d.waitFor(t, regexp.MustCompile(`msg="scan done".* installs=1 `), nil)
	st := d.waitHealth(t, "the web watch to report what it cannot read", func(code int, st selfwatch.Status) bool {
		return code == 503 && len(blindOf(st, string(webapps.CauseScanUnreadable))) == 2 && len(blindOf(st, string(webapps.CauseAccessLogUnreadable))) == 1
	})
	for _, b := range blindOf(st, string(webapps.CauseScanUnreadable)) {
		t.Logf("/healthz says: %s", b.Summary)
		want := map[string]string{www: hidden, locked: locked}[b.Subject]
		if want == "" {
			t.Errorf("blind subject %q, want a root", b.Subject)
			continue
		}
		for _, s := range []string{want + ": permission denied", "user " + u.name, want + " is root:root 0700"} {
			if !strings.Contains(b.Summary, s) {
				t.Errorf("the report does not say %q: %s", s, b.Summary)
			}
		}
	}
	if b := blindOf(st, string(webapps.CauseAccessLogUnreadable))[0]; !strings.Contains(b.Summary, "access.log: permission denied") {
		t.Errorf("access log report: %s", b.Summary)
	}
	w, _ := watchStatus(st, string(webapps.Name))
	if !w.Up || w.Restarts != 0 || w.LastSuccess == nil {
		t.Errorf("web watch %+v: want up, not restarted, a scan done", w)
	}
	// The readable site was rated: one install, by status.
	_, metrics := d.get(t, "/metrics")
	total := 0.0
	for _, line := range strings.Split(metrics, "\n") {
		if strings.HasPrefix(line, "vigie_web_installs{") {
			var v float64
			fmt.Sscanf(line[strings.LastIndexByte(line, ' ')+1:], "%g", &v)
			total += v
		}
	}
	if total != 1 {
		t.Errorf("vigie_web_installs sums to %v, want 1 (site-a only)", total)
	}
	time.Sleep(500 * time.Millisecond) // a few self checks
	d.stop(t)
	alerts := vigieAlerts(t, data)
	for _, k := range []string{string(webapps.CauseScanUnreadable) + " " + www, string(webapps.CauseScanUnreadable) + " " + locked} {
		if !strings.Contains(alerts[k], "permission denied") {
			t.Errorf("no vigie alert %q: %v", k, alerts)
		}
	}
}

// The data directory as the package makes it (vigie:vigie 0750) works;
// one vigie may not write, a store file left by a run as root, and a
// store.path in a directory it may not write each stop the start with an
// error that names the path and says why, never a panic.
func TestNonRootStoreDirectory(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the daemon as a system user")
	}
	u := newSysUser(t)
	dir := place(t)
	cfg := baseConfig + "mail:\n  enabled: off\nweb:\n  enabled: off\n"

	t.Run("owned by vigie", func(t *testing.T) {
		data := dataDir(t, u, filepath.Join(dir))
		d := launch(t, vigieAs(t, u, dir, cfg, data, "run"))
		d.waitFor(t, regexp.MustCompile(`msg="vigie running"`), nil)
		if code, st := d.health(t); code != 200 || st.Status != "ok" {
			t.Errorf("/healthz %d %+v", code, st)
		}
		d.stop(t)
		fi, err := os.Stat(filepath.Join(data, "vigie.db"))
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != u.uid {
			t.Errorf("vigie.db owned by uid %d, want %d", st.Uid, u.uid)
		}
	})

	startFails := func(t *testing.T, cfg, data string, want ...string) {
		t.Helper()
		cmd := vigieAs(t, u, dir, cfg, data, "run")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		done := make(chan error, 1)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { done <- cmd.Wait() }()
		var err error
		select {
		case err = <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Fatalf("vigie kept running on a store it cannot write; log:\n%s", stderr.String())
		}
		t.Logf("vigie says: %s", strings.TrimSpace(stderr.String()))
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() <= 0 || ee.ExitCode() == 2 && strings.Contains(stderr.String(), "goroutine ") {
			t.Errorf("exit %v, want a non-zero exit status", err)
		}
		for _, bad := range []string{"panic", "goroutine ", "SIGSEGV"} {
			if strings.Contains(stderr.String(), bad) {
				t.Errorf("a crash, not an error: %s", stderr.String())
			}
		}
		for _, w := range want {
			if !strings.Contains(stderr.String(), w) {
				t.Errorf("the error does not say %q: %s", w, stderr.String())
			}
		}
	}

	t.Run("not writable", func(t *testing.T) {
		data := filepath.Join(dir, "root-data")
		os.Mkdir(data, 0o755) // root's
		startFails(t, cfg, data, data, "not writable", "permission denied")
	})
	t.Run("store file of root", func(t *testing.T) {
		data := filepath.Join(dir, "data-root-db")
		os.Mkdir(data, 0o750)
		own(t, data, int(u.uid), int(u.gid), 0o750)
		// `vigie` run once as root on the same data directory.
		db, err := sqlite.Open(context.Background(), filepath.Join(data, "vigie.db"), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		startFails(t, cfg, data, "may not write "+filepath.Join(data, "vigie.db"), "root:root 0644", "user "+u.name)
	})
	t.Run("store path not writable", func(t *testing.T) {
		data := filepath.Join(dir, "data-ok")
		os.Mkdir(data, 0o750)
		own(t, data, int(u.uid), int(u.gid), 0o750)
		elsewhere := filepath.Join(dir, "db-root")
		os.Mkdir(elsewhere, 0o755)
		startFails(t, cfg+fmt.Sprintf("store:\n  path: %s\n", filepath.Join(elsewhere, "vigie.db")), data,
			filepath.Join(elsewhere, "vigie.db"), "may not create it in "+elsewhere, "root:root 0755")
	})
}
