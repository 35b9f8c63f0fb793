// Package testutil holds what integration tests share: finding the real
// programs they drive (postfix, knotd, chromium, ...) and loopback ports.
package testutil

import (
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
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

// FreePort returns a port on 127.0.0.1 that was free for both TCP and UDP
// a moment ago. It is drawn at random below the kernel's ephemeral range
// (32768 and up on Linux): a port the kernel picked for a listener on :0
// would be free again once closed, and the kernel could hand it to any
// client's source port (a DNS query's UDP socket) before the program under
// test binds it; a daemon such as knotd binding UDP and TCP then fails with
// "address already in use" on a busy machine.
func FreePort(t testing.TB) int {
	t.Helper()
	for range 200 {
		port := 10000 + rand.IntN(32768-10000)
		if portFree(port) {
			return port
		}
	}
	t.Fatal("no free port on 127.0.0.1 in 10000-32767 after 200 tries")
	return 0
}

func portFree(port int) bool {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	defer ln.Close()
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return false
	}
	pc.Close()
	return true
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
