// Package sdnotify speaks systemd's notification protocol (sd_notify(3)):
// one datagram of NAME=VALUE lines to the unix socket $NOTIFY_SOCKET. It is
// the few lines of the protocol vigie needs (readiness, stopping, reload
// and the watchdog), so the unit can be Type=notify with WatchdogSec.
package sdnotify

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Notifier sends states to systemd. The zero value (no socket) does
// nothing, so vigie run outside systemd behaves as before.
type Notifier struct {
	socket string
	// Watchdog is the interval systemd expects a WATCHDOG=1 within
	// ($WATCHDOG_USEC); 0 when the unit has no WatchdogSec.
	Watchdog time.Duration
}

// FromEnv reads $NOTIFY_SOCKET and $WATCHDOG_USEC (and $WATCHDOG_PID,
// which must be ours when set). getenv is os.Getenv outside tests.
func FromEnv(getenv func(string) string, pid int) *Notifier {
	n := &Notifier{socket: getenv("NOTIFY_SOCKET")}
	if n.socket == "" {
		return n
	}
	if us, err := strconv.ParseInt(getenv("WATCHDOG_USEC"), 10, 64); err == nil && us > 0 {
		if p := getenv("WATCHDOG_PID"); p == "" || p == strconv.Itoa(pid) {
			n.Watchdog = time.Duration(us) * time.Microsecond
		}
	}
	return n
}

// Enabled says whether systemd listens.
func (n *Notifier) Enabled() bool { return n != nil && n.socket != "" }

// Notify sends one state, for example "READY=1" or "STATUS=...". Lines
// are joined with newlines, as sd_notify expects.
func (n *Notifier) Notify(states ...string) error {
	if !n.Enabled() {
		return nil
	}
	addr := n.socket
	// A leading @ is the abstract namespace (a NUL byte on the wire).
	if strings.HasPrefix(addr, "@") {
		addr = "\x00" + addr[1:]
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(strings.Join(states, "\n"))); err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	return nil
}

// Ready tells systemd the service is up.
func (n *Notifier) Ready(status string) error {
	return n.Notify("READY=1", "STATUS="+status)
}

// Stopping tells systemd the service is shutting down.
func (n *Notifier) Stopping() error { return n.Notify("STOPPING=1", "STATUS=stopping") }

// Reloading tells systemd a reload started; Ready ends it. MONOTONIC_USEC
// lets a Type=notify-reload unit match the two (systemd 253+).
func (n *Notifier) Reloading(now time.Duration) error {
	return n.Notify("RELOADING=1", "MONOTONIC_USEC="+strconv.FormatInt(now.Microseconds(), 10))
}

// RunWatchdog sends WATCHDOG=1 at half the interval systemd expects, but
// only while healthy answers nil: a vigie whose store hangs stops petting
// the watchdog, and systemd restarts it. It returns when ctx is done.
func (n *Notifier) RunWatchdog(ctx context.Context, healthy func(context.Context) error, onErr func(error)) {
	if !n.Enabled() || n.Watchdog <= 0 {
		return
	}
	tick := time.NewTicker(n.Watchdog / 2)
	defer tick.Stop()
	for {
		hctx, cancel := context.WithTimeout(ctx, n.Watchdog/2)
		err := healthy(hctx)
		cancel()
		if err == nil {
			err = n.Notify("WATCHDOG=1")
		}
		if err != nil && ctx.Err() == nil && onErr != nil {
			onErr(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
