package main

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/testutil/postfixtest"
)

var binary string

func TestMain(m *testing.M) {
	// the containment tests run sendmail as a web site's uid through this binary
	postfixtest.RunHelper()
	dir, err := os.MkdirTemp("", "vigie-bin-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "vigie")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		panic("building vigie: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// daemon is a `vigie run` started by a test.
type daemon struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	addr   string
	exited chan struct{}
}

type syncBuffer struct {
	lines chan string
	buf   bytes.Buffer
}

var listening = regexp.MustCompile(`msg="http listening" addr=(\S+)`)

func startDaemon(t *testing.T, env []string, args ...string) *daemon {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"run"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	return launch(t, cmd)
}

// launch starts cmd (a `vigie run`) and waits for it to listen.
func launch(t *testing.T, cmd *exec.Cmd) *daemon {
	t.Helper()
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &daemon{cmd: cmd, stderr: &syncBuffer{lines: make(chan string, 1000)}, exited: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			d.stderr.lines <- sc.Text()
		}
		close(d.stderr.lines)
	}()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	d.waitFor(t, listening, func(m []string) { d.addr = m[1] })
	return d
}

// waitFor reads log lines until one matches re.
func (d *daemon) waitFor(t *testing.T, re *regexp.Regexp, then func([]string)) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case line, ok := <-d.stderr.lines:
			if !ok {
				t.Fatalf("vigie exited before logging %q; log:\n%s", re, d.stderr.buf.String())
			}
			d.stderr.buf.WriteString(line + "\n")
			if m := re.FindStringSubmatch(line); m != nil {
				if then != nil {
					then(m)
				}
				return
			}
		case <-timeout:
			t.Fatalf("no log line matching %q within 10s; log:\n%s", re, d.stderr.buf.String())
		}
	}
}

func (d *daemon) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + d.addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestRunOnEmbeddedDefaultsAndStopOnSIGTERM(t *testing.T) {
	data := t.TempDir()
	d := startDaemon(t, []string{"VIGIE_DATA=" + data, "VIGIE_CONFIG="})
	if !strings.HasPrefix(d.addr, "127.0.0.1:") {
		t.Errorf("listening on %s, want 127.0.0.1", d.addr)
	}
	if code, body := d.get(t, "/healthz"); code != 200 || !strings.Contains(body, `"status":"ok"`) {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, body := d.get(t, "/metrics"); code != 200 || !strings.Contains(body, "vigie_build_info") || !strings.Contains(body, "process_cpu_seconds_total") {
		t.Errorf("/metrics = %d, missing vigie or process metrics", code)
	}
	if _, err := os.Stat(filepath.Join(data, "vigie.db")); err != nil {
		t.Errorf("store not in the data directory: %v", err)
	}
	began := time.Now()
	d.cmd.Process.Signal(syscall.SIGTERM)
	err := d.cmd.Wait()
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("stopping took %v, want under 5s", took)
	}
	if err != nil {
		t.Errorf("exit after SIGTERM: %v, want status 0", err)
	}
}

func TestSIGHUPReloadsAndRefusesABadConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "vigie.yaml")
	os.WriteFile(cfg, []byte("http:\n  listen: 127.0.0.1:0\n"), 0o600)
	d := startDaemon(t, []string{"VIGIE_DATA=" + dir}, "--config", cfg)
	// SIGHUP before the watches are built is refused ("reload before start"); wait for them.
	d.waitFor(t, regexp.MustCompile(`msg="vigie running"`), nil)

	os.WriteFile(cfg, []byte("http:\n  listen: 127.0.0.1:0\n  bogus: 1\n"), 0o600)
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.waitFor(t, regexp.MustCompile(`configuration refused.*vigie.yaml:3: http.bogus: unknown key`), nil)
	if code, _ := d.get(t, "/healthz"); code != 200 {
		t.Errorf("after a refused reload /healthz = %d", code)
	}

	os.WriteFile(cfg, []byte("http:\n  listen: 127.0.0.1:0\nlog:\n  level: debug\n"), 0o600)
	d.cmd.Process.Signal(syscall.SIGHUP)
	d.waitFor(t, regexp.MustCompile(`configuration reloaded`), nil)

	d.cmd.Process.Signal(syscall.SIGINT)
	if err := d.cmd.Wait(); err != nil {
		t.Errorf("exit after SIGINT: %v", err)
	}
}

// run runs the vigie binary to its end, with nothing on stdin.
func run(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	return runIn(t, "", env, args...)
}

// runIn runs the vigie binary to its end with stdin and returns its exit
// code, stdout and stderr.
func runIn(t *testing.T, stdin string, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, stdout.String(), stderr.String()
}

func TestBrokenConfigStartsNothing(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bad.yaml")
	os.WriteFile(cfg, []byte("log:\n  level: info\nhttp:\n  listen: 0.0.0.0:9760\n"), 0o600)
	data := filepath.Join(dir, "data")
	code, _, stderr := run(t, []string{"VIGIE_DATA=" + data}, "run", "--config", cfg)
	if code != 2 || !strings.Contains(stderr, cfg+":4: http.listen:") {
		t.Errorf("exit %d, stderr %q; want 2 and file:line:key", code, stderr)
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Error("the data directory was created although the config is broken")
	}
}

func TestUnwritableDataDirectory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	os.WriteFile(file, nil, 0o600)
	code, _, stderr := run(t, nil, "--data", file+"/data", "run")
	if code != 1 || !strings.Contains(stderr, file+"/data") {
		t.Errorf("exit %d, stderr %q; want 1 naming the path", code, stderr)
	}
}

func TestConfigExampleChecksAndUnknownKeyFails(t *testing.T) {
	code, example, _ := run(t, nil, "config", "example")
	if code != 0 || !strings.Contains(example, "# ") {
		t.Fatalf("config example: exit %d", code)
	}
	dir := t.TempDir()
	x := filepath.Join(dir, "x.yaml")
	os.WriteFile(x, []byte(example), 0o600)
	if code, out, stderr := run(t, nil, "config", "check", x); code != 0 || out != x+": ok\n" {
		t.Errorf("check example: exit %d %q %q", code, out, stderr)
	}
	os.WriteFile(x, []byte(example+"\nunknown_thing: 1\n"), 0o600)
	lines := strings.Count(example, "\n") + 2
	code, _, stderr := run(t, nil, "config", "check", x)
	if want := x + ":" + strconv.Itoa(lines) + ": unknown_thing: unknown key"; code != 2 || !strings.Contains(stderr, want) {
		t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, want)
	}
}

func TestHelpAndUsage(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"run", "--help"}, {"version", "--help"}, {"config", "--help"},
		{"config", "check", "--help"}, {"config", "example", "--help"}} {
		if code, out, _ := run(t, nil, args...); code != 0 || !strings.Contains(out, "Usage") {
			t.Errorf("%v: exit %d, output %q", args, code, out)
		}
	}
	for _, args := range [][]string{{}, {"nope"}, {"run", "--nope"}, {"config", "check"}, {"config", "check", "a", "b"}} {
		if code, _, stderr := run(t, nil, args...); code != 2 || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 and a message", args, code, stderr)
		}
	}
	if code, out, _ := run(t, nil, "version"); code != 0 || !strings.HasPrefix(out, "vigie ") {
		t.Errorf("version: %d %q", code, out)
	}
}
