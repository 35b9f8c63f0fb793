// Package testutil holds what integration tests share: finding the real
// programs they drive (postfix, knotd, chromium, ...) and loopback ports.
package testutil

import (
	"net"
	"os"
	"os/exec"
	"testing"
)

// IntegrationEnv is set to "require" by `make test`: then a missing program
// fails the test instead of skipping it, so CI cannot pass by skipping.
const IntegrationEnv = "VIGIE_INTEGRATION"

// RequireProgram returns the path of program, looking in PATH and in the
// sbin directories where Debian puts daemons. When it is absent the test is
// skipped, or fails under `make test`.
func RequireProgram(t testing.TB, program string) string {
	t.Helper()
	if p, err := exec.LookPath(program); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin", "/usr/lib/postfix/sbin"} {
		p := dir + "/" + program
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	if os.Getenv(IntegrationEnv) == "require" {
		t.Fatalf("%s is not installed; `make test` installs it (see testdeps/)", program)
	}
	t.Skipf("%s is not installed; run `make test` to install it and run this test", program)
	return ""
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// RequireRoot skips a test that must run as root (starting Postfix, which
// drops privileges to its own user), or fails it under `make test`, where
// CI runs as root and a skip would hide the test.
func RequireRoot(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv(IntegrationEnv) == "require" {
		t.Fatalf("%s needs root; run `make test` as root (CI does)", why)
	}
	t.Skipf("%s needs root", why)
}
