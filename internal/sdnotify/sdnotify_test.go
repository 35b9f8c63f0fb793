package sdnotify

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// listen is a fake systemd: a unixgram socket that collects datagrams.
func listen(t *testing.T, name string) (string, <-chan string) {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ch := make(chan string, 64)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			ch <- string(buf[:n])
		}
	}()
	return name, ch
}

func recv(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no datagram")
		return ""
	}
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestNotifyPathAndAbstract(t *testing.T) {
	for _, name := range []string{filepath.Join(t.TempDir(), "notify"), "@vigie-test-" + t.Name()} {
		sock := name
		if strings.HasPrefix(name, "@") {
			sock = "\x00" + name[1:]
		}
		_, ch := listen(t, sock)
		n := FromEnv(env(map[string]string{"NOTIFY_SOCKET": name}), 1)
		if err := n.Ready("running 3 watches"); err != nil {
			t.Fatal(err)
		}
		if got := recv(t, ch); got != "READY=1\nSTATUS=running 3 watches" {
			t.Errorf("%s: got %q", name, got)
		}
	}
}

func TestDisabledWithoutSocket(t *testing.T) {
	n := FromEnv(env(nil), 1)
	if n.Enabled() || n.Ready("x") != nil {
		t.Fatal("no socket must be a no-op")
	}
	// A socket nobody listens on is an error the caller can log.
	n = FromEnv(env(map[string]string{"NOTIFY_SOCKET": filepath.Join(t.TempDir(), "none")}), 1)
	if n.Ready("x") == nil {
		t.Fatal("sending to a missing socket must fail")
	}
}

func TestWatchdogInterval(t *testing.T) {
	n := FromEnv(env(map[string]string{"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "42"}), 42)
	if n.Watchdog != 3*time.Second {
		t.Fatalf("watchdog %v", n.Watchdog)
	}
	// WATCHDOG_PID of another process: the watchdog is not ours.
	n = FromEnv(env(map[string]string{"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "7"}), 42)
	if n.Watchdog != 0 {
		t.Fatalf("watchdog of another pid taken: %v", n.Watchdog)
	}
}

func TestWatchdogOnlyWhileHealthy(t *testing.T) {
	name, ch := listen(t, filepath.Join(t.TempDir(), "notify"))
	n := FromEnv(env(map[string]string{"NOTIFY_SOCKET": name, "WATCHDOG_USEC": "40000"}), 1)
	var sick atomic.Bool
	var errs atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.RunWatchdog(ctx, func(context.Context) error {
			if sick.Load() {
				return errors.New("store does not answer")
			}
			return nil
		}, func(error) { errs.Add(1) })
	}()
	for i := 0; i < 3; i++ {
		if got := recv(t, ch); got != "WATCHDOG=1" {
			t.Fatalf("got %q", got)
		}
	}
	sick.Store(true)
	// Drain what was in flight, then nothing more may come while sick.
	time.Sleep(60 * time.Millisecond)
	for len(ch) > 0 {
		<-ch
	}
	time.Sleep(100 * time.Millisecond)
	if len(ch) != 0 {
		t.Fatalf("watchdog petted while unhealthy: %q", <-ch)
	}
	if errs.Load() == 0 {
		t.Fatal("unhealthy rounds were not reported")
	}
	cancel()
	<-done
}
