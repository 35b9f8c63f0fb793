package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSystemdNotify runs vigie as a Type=notify unit would: the test is
// systemd, listening on the NOTIFY_SOCKET it hands over with a watchdog of
// 300 ms, and checks readiness comes once /healthz answers, the watchdog is
// petted, a reload is announced and the stop too.
func TestSystemdNotify(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msgs := make(chan string, 256)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				close(msgs)
				return
			}
			msgs <- string(buf[:n])
		}
	}()
	next := func(want string) string {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case m := <-msgs:
				if strings.Contains(m, want) {
					return m
				}
			case <-timeout:
				t.Fatalf("systemd never got %q", want)
			}
		}
	}
	cfg := filepath.Join(dir, "vigie.yaml")
	os.WriteFile(cfg, []byte("http:\n  listen: 127.0.0.1:0\n"), 0o600)
	d := startDaemon(t, []string{"VIGIE_DATA=" + dir, "NOTIFY_SOCKET=" + sock, "WATCHDOG_USEC=300000"}, "--config", cfg)

	ready := next("READY=1")
	if !strings.Contains(ready, "STATUS=running, http on "+d.addr) {
		t.Errorf("readiness %q does not say where vigie listens (%s)", ready, d.addr)
	}
	// /healthz answers by the time systemd hears READY=1.
	if code, _ := d.get(t, "/healthz"); code != 200 {
		t.Errorf("/healthz = %d after READY=1", code)
	}
	began := time.Now()
	for i := 0; i < 3; i++ {
		next("WATCHDOG=1")
	}
	// Three pets at half the interval: about 300 ms; under 3 s on a busy machine.
	if took := time.Since(began); took > 3*time.Second {
		t.Errorf("3 watchdog notifications took %v with WatchdogSec=300ms", took)
	}

	d.cmd.Process.Signal(syscall.SIGHUP)
	if m := next("RELOADING=1"); !strings.Contains(m, "MONOTONIC_USEC=") {
		t.Errorf("reload notification %q has no MONOTONIC_USEC", m)
	}
	next("READY=1")

	d.cmd.Process.Signal(syscall.SIGTERM)
	next("STOPPING=1")
	if err := d.cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
}

func TestVersionFlagAndCommand(t *testing.T) {
	code1, out1, _ := run(t, nil, "--version")
	code2, out2, _ := run(t, nil, "version")
	if code1 != 0 || code2 != 0 || out1 != out2 || !strings.HasPrefix(out1, "vigie ") {
		t.Errorf("--version: %d %q; version: %d %q; want the same line", code1, out1, code2, out2)
	}
}
