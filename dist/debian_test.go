package dist

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
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

	"github.com/vigie/vigie/internal/testutil"
)

// repoRoot is the repository (this package is dist/).
func repoRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(wd)
}

var built struct {
	sync.Mutex
	deb string
}

// buildDeb runs scripts/build-deb.sh (what make deb runs) once for the
// tests, into a temporary directory, and returns the .deb.
func buildDeb(t *testing.T) string {
	t.Helper()
	testutil.RequireProgram(t, "dpkg-deb")
	built.Lock()
	defer built.Unlock()
	if built.deb != "" {
		return built.deb
	}
	out, err := os.MkdirTemp("", "vigie-deb-build-")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("scripts/build-deb.sh", out)
	cmd.Dir = repoRoot(t)
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("build-deb.sh: %v\n%s", err, stderrOf(err))
	}
	deb := strings.TrimSpace(string(b))
	built.deb = deb
	if !regexp.MustCompile(`/vigie_[0-9][^/]*_[a-z0-9]+\.deb$`).MatchString(deb) {
		t.Fatalf("build-deb.sh printed %q, want a vigie_VERSION_ARCH.deb", deb)
	}
	return deb
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// TestDebContents: the package holds what the issue lists, with a conffile
// and maintainer scripts that pass sh -n.
func TestDebContents(t *testing.T) {
	deb := buildDeb(t)
	list, err := exec.Command("dpkg-deb", "--contents", deb).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"-rwxr-xr-x root/root .* ./usr/bin/vigie$",
		"-rw-r--r-- root/root .* ./usr/lib/systemd/system/vigie.service$",
		"-rw-r----- root/root .* ./etc/vigie/vigie.yaml$",
		"./usr/share/man/man8/vigie.8.gz$",
		"./usr/share/bash-completion/completions/vigie$",
		"./usr/share/zsh/vendor-completions/_vigie$",
		"./usr/share/vigie/prometheus/vigie.rules.yml$",
		"./usr/share/vigie/grafana/vigie.json$",
		"./usr/share/doc/vigie/copyright$",
	} {
		if !regexp.MustCompile(`(?m)` + want).Match(list) {
			t.Errorf("the package lacks %s:\n%s", want, list)
		}
	}
	ctl := t.TempDir()
	if out, err := exec.Command("dpkg-deb", "--control", deb, ctl).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	if b, _ := os.ReadFile(filepath.Join(ctl, "conffiles")); strings.TrimSpace(string(b)) != "/etc/vigie/vigie.yaml" {
		t.Errorf("conffiles = %q", b)
	}
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		if out, err := exec.Command("sh", "-n", filepath.Join(ctl, s)).CombinedOutput(); err != nil {
			t.Errorf("%s: %v %s", s, err, out)
		}
	}
	field, _ := exec.Command("dpkg-deb", "--field", deb, "Package", "Version", "Architecture").Output()
	if !regexp.MustCompile(`(?m)^Package: vigie\nVersion: [0-9]\S*\nArchitecture: \S+$`).Match(field) {
		t.Errorf("control fields:\n%s", field)
	}
	// The unit passes systemd's own check (the unit's binary is not
	// installed here: only the syntax and directives are checked).
	if sa, err := exec.LookPath("systemd-analyze"); err == nil {
		unit := filepath.Join(t.TempDir(), "vigie.service")
		b, _ := os.ReadFile(filepath.Join(repoRoot(t), "dist", "vigie.service"))
		os.WriteFile(unit, b, 0o644)
		out, _ := exec.Command(sa, "verify", unit).CombinedOutput()
		for _, line := range strings.Split(string(out), "\n") {
			if strings.Contains(line, "vigie.service") && !strings.Contains(line, "/usr/bin/vigie") && !strings.Contains(line, "not executable") {
				t.Errorf("systemd-analyze verify: %s", line)
			}
		}
	}
}

// TestDebInstallRunRemove installs the package on this machine with dpkg,
// runs the installed binary as the vigie user the postinst created (as
// the unit would), checks /healthz, then removes and purges it.
func TestDebInstallRunRemove(t *testing.T) {
	if os.Getuid() != 0 {
		if os.Getenv(testutil.IntegrationEnv) == "require" {
			t.Fatal("installing the package needs root; make test runs as root")
		}
		t.Skip("installing the package needs root")
	}
	testutil.RequireProgram(t, "dpkg")
	if out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", "vigie").Output(); err == nil && strings.Contains(string(out), "installed") {
		t.Skip("a vigie package is installed on this machine already; not touching it")
	}
	deb := buildDeb(t)
	t.Cleanup(func() { dpkg(t, "--purge", "vigie") })
	dpkg(t, "-i", deb)

	u, err := user.Lookup("vigie")
	if err != nil {
		t.Fatalf("postinst made no vigie user: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if u.HomeDir != "/var/lib/vigie" {
		t.Errorf("vigie's home is %s", u.HomeDir)
	}
	checkOwner(t, "/var/lib/vigie", uid, gid, os.ModeDir|0o750)
	checkOwner(t, "/etc/vigie/vigie.yaml", 0, gid, 0o640)
	for _, f := range []string{"/usr/bin/vigie", "/usr/lib/systemd/system/vigie.service", "/usr/share/man/man8/vigie.8.gz",
		"/usr/share/bash-completion/completions/vigie", "/usr/share/zsh/vendor-completions/_vigie",
		"/usr/share/vigie/prometheus/vigie.rules.yml", "/usr/share/vigie/grafana/vigie.json"} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("not installed: %v", err)
		}
	}
	if out, err := exec.Command("man", "-w", "vigie").CombinedOutput(); err == nil && !strings.Contains(string(out), "/usr/share/man/man8/vigie.8.gz") {
		t.Errorf("man -w vigie = %s", out)
	}

	// As the unit runs it: user and group vigie, plus the unit's
	// SupplementaryGroups (adm reads /var/log/mail.log and the web
	// servers' logs, systemd-journal the journal) where they exist.
	groups := unitSupplementaryGroups(t)
	asVigie := func(cmd *exec.Cmd) *exec.Cmd {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: groups}}
		cmd.Env = []string{"PATH=/usr/bin:/bin:/usr/sbin:/sbin", "HOME=/var/lib/vigie"}
		return cmd
	}
	// The conffile as installed, read by the vigie user, as ExecStartPre does.
	if out, err := asVigie(exec.Command("/usr/bin/vigie", "config", "check", "/etc/vigie/vigie.yaml")).CombinedOutput(); err != nil {
		t.Fatalf("vigie config check /etc/vigie/vigie.yaml as vigie: %v %s", err, out)
	}
	// vigie doctor, as the README says to run it after installing: without
	// flags it reads the unit's configuration and data directory, and
	// checks them as the vigie user would read and write them.
	out, err := exec.Command("/usr/bin/vigie", "doctor", "--json").Output()
	var rep struct {
		Checks []struct{ Watch, Item, Status, Found string }
	}
	if jerr := json.Unmarshal(out, &rep); jerr != nil {
		t.Errorf("vigie doctor --json: %v %v %s", err, jerr, stderrOf(err))
	}
	found := map[string]string{}
	for _, c := range rep.Checks {
		if c.Watch == "vigie" {
			found[c.Item] = c.Status + " " + c.Found
		}
	}
	if found["configuration"] != "ok /etc/vigie/vigie.yaml (vigie.service's): ok" || found["data directory"] != "ok /var/lib/vigie" {
		t.Errorf("vigie doctor after installing: %v\n%s", found, out)
	}
	// The unit's command line, but on a free port: the conffile's 9760 may
	// be taken on a shared machine.
	conf, _ := os.ReadFile("/etc/vigie/vigie.yaml")
	if !strings.Contains(string(conf), "listen: 127.0.0.1:9760\n") {
		t.Fatal("the conffile's http.listen is not 127.0.0.1:9760")
	}
	dir, err := os.MkdirTemp("", "vigie-deb-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	cfg := filepath.Join(dir, "vigie.yaml")
	os.WriteFile(cfg, []byte(strings.Replace(string(conf), "listen: 127.0.0.1:9760\n", "listen: 127.0.0.1:0\n", 1)), 0o644)
	// systemd's side of Type=notify.
	sock := filepath.Join(dir, "notify")
	nc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	os.Chmod(sock, 0o777)
	ready := make(chan string, 1)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := nc.Read(buf)
			if err != nil {
				return
			}
			if strings.Contains(string(buf[:n]), "READY=1") {
				ready <- string(buf[:n])
				return
			}
		}
	}()

	run := asVigie(exec.Command("/usr/bin/vigie", "run", "--config", cfg, "--data", "/var/lib/vigie"))
	run.Env = append(run.Env, "NOTIFY_SOCKET="+sock)
	stderr, _ := run.StderrPipe()
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { run.Process.Kill(); run.Wait() }()
	addr := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`msg="http listening" addr=(\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	var a string
	select {
	case a = <-addr:
	case <-time.After(30 * time.Second):
		t.Fatal("the installed vigie did not listen within 30s")
	}
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		t.Fatal("the installed vigie never sent READY=1")
	}
	resp, err := http.Get("http://" + a + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// /healthz answers JSON per watch (up, lag, last success); 200 and
	// "status":"ok" when no watch is blind
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"status":"ok"`) {
		t.Errorf("/healthz = %d %q", resp.StatusCode, body)
	}
	checkOwner(t, "/var/lib/vigie/vigie.db", uid, gid, 0)
	run.Process.Signal(syscall.SIGTERM)
	if err := run.Wait(); err != nil {
		t.Errorf("the installed vigie after SIGTERM: %v", err)
	}

	dpkg(t, "-r", "vigie")
	if _, err := os.Stat("/usr/bin/vigie"); !os.IsNotExist(err) {
		t.Error("dpkg -r left /usr/bin/vigie")
	}
	if _, err := os.Stat("/etc/vigie/vigie.yaml"); err != nil {
		t.Error("dpkg -r removed the conffile (only purge may)")
	}
	dpkg(t, "--purge", "vigie")
	for _, p := range []string{"/etc/vigie", "/var/lib/vigie", "/usr/lib/systemd/system/vigie.service", "/usr/share/vigie"} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("dpkg --purge left %s", p)
		}
	}
	if out, _ := exec.Command("dpkg-query", "-W", "-f=${Status}", "vigie").CombinedOutput(); strings.Contains(string(out), "installed") {
		t.Errorf("still installed after purge: %s", out)
	}
}

// dpkg runs dpkg, waiting for its lock when another install holds it (the
// machine is shared with other test runs).
func dpkg(t *testing.T, args ...string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		out, err := exec.CommandContext(ctx, "dpkg", args...).CombinedOutput()
		cancel()
		if err == nil {
			return
		}
		if strings.Contains(string(out), "lock") && time.Now().Before(deadline) {
			time.Sleep(2 * time.Second)
			continue
		}
		t.Fatalf("dpkg %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func checkOwner(t *testing.T, path string, uid, gid int, mode os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Error(err)
		return
	}
	st := fi.Sys().(*syscall.Stat_t)
	if int(st.Uid) != uid || int(st.Gid) != gid || mode != 0 && fi.Mode()&(os.ModeDir|os.ModePerm) != mode {
		t.Errorf("%s: owner %d:%d mode %v, want %d:%d %v", path, st.Uid, st.Gid, fi.Mode(), uid, gid, mode)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.deb != "" {
		os.RemoveAll(filepath.Dir(built.deb))
	}
	os.Exit(code)
}

// unitSupplementaryGroups reads SupplementaryGroups= of dist/vigie.service
// and returns the ids of those groups this machine has.
func unitSupplementaryGroups(t *testing.T) []uint32 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "dist", "vigie.service"))
	if err != nil {
		t.Fatal(err)
	}
	var ids []uint32
	for _, line := range strings.Split(string(b), "\n") {
		names, ok := strings.CutPrefix(strings.TrimSpace(line), "SupplementaryGroups=")
		if !ok {
			continue
		}
		for _, name := range strings.Fields(names) {
			g, err := user.LookupGroup(name)
			if err != nil {
				continue // e.g. systemd-journal in a container without systemd
			}
			if id, err := strconv.ParseUint(g.Gid, 10, 32); err == nil {
				ids = append(ids, uint32(id))
			}
		}
	}
	return ids
}
