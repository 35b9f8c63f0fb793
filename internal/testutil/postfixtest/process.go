package postfixtest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// WaitFor polls cond every 200 ms until it holds, and fails the test with
// the last state cond described when d has passed.
func WaitFor(t testing.TB, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	var last string
	for time.Now().Before(deadline) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("waiting for %s: %s", what, last)
}

// runDaemon runs a command that starts a daemon, its output to a file: the
// daemon inherits the descriptors, so a pipe would never see its end.
func runDaemon(logFile, name string, args ...string) (string, error) {
	f, err := os.Create(logFile)
	if err != nil {
		return "", err
	}
	defer f.Close()
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = f, f
	err = cmd.Run()
	out, _ := os.ReadFile(logFile)
	return string(out), err
}

// readPID reads a daemon's pid file; 0 when there is none.
func readPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	var pid int
	fmt.Sscan(string(b), &pid)
	return pid
}

// waitGone waits a few seconds for a daemon the test stopped to exit, so
// that its files can be removed.
func waitGone(pid int) {
	for range 100 {
		// gone, or a zombie (a daemon's parent is init, which may be slow to reap)
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return
		}
		if _, after, ok := strings.Cut(string(b), ") "); ok && strings.HasPrefix(after, "Z") {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func writeFile(t testing.TB, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
