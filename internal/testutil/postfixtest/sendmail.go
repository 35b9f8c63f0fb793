package postfixtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Postfix's sendmail honours -C (another configuration directory) only for
// root: anyone else gets /etc/postfix, where the lab is not. To submit
// mail as a web site's uid does, the test binary runs itself as a helper
// that, in a mount namespace of its own, binds the lab's configuration
// directory over /etc/postfix, drops to the uid and runs the real
// sendmail. Packages that call SendmailAs call RunHelper first in their
// TestMain.

const helperEnv = "VIGIE_POSTFIXTEST_SENDMAIL_AS"

// RunHelper turns this process into the sendmail helper when it was
// started as one (it then never returns); otherwise it does nothing.
func RunHelper() {
	spec := os.Getenv(helperEnv)
	if spec == "" {
		return
	}
	// spec: UID:GID:CONFDIR; arguments follow "--" on the command line
	parts := strings.SplitN(spec, ":", 3)
	fail := func(err error) {
		fmt.Fprintf(os.Stderr, "sendmail helper: %v\n", err)
		os.Exit(111)
	}
	if len(parts) != 3 {
		fail(fmt.Errorf("bad %s %q", helperEnv, spec))
	}
	uid, err1 := strconv.Atoi(parts[0])
	gid, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		fail(fmt.Errorf("bad %s %q", helperEnv, spec))
	}
	var args []string
	for i, a := range os.Args {
		if a == "--" {
			args = os.Args[i+1:]
			break
		}
	}
	// namespaces belong to the thread: unshare and exec from the same one
	runtime.LockOSThread()
	if err := syscall.Unshare(syscall.CLONE_NEWNS); err != nil {
		fail(fmt.Errorf("unshare: %w", err))
	}
	if err := syscall.Mount("none", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		fail(fmt.Errorf("making / private: %w", err))
	}
	if err := syscall.Mount(parts[2], "/etc/postfix", "", syscall.MS_BIND, ""); err != nil {
		fail(fmt.Errorf("binding %s over /etc/postfix: %w", parts[2], err))
	}
	if err := syscall.Setgroups([]int{gid}); err != nil {
		fail(err)
	}
	if err := syscall.Setgid(gid); err != nil {
		fail(err)
	}
	if err := syscall.Setuid(uid); err != nil {
		fail(err)
	}
	env := []string{"PATH=/usr/sbin:/usr/bin:/bin"}
	fail(syscall.Exec("/usr/sbin/sendmail", append([]string{"sendmail"}, args...), env))
}

// SendmailAs submits a message with the real /usr/sbin/sendmail run as
// uid:gid, as a PHP site calls it: "sendmail -f from to...", the message
// on standard input. It returns an error rather than failing the test so
// that it can be called from other goroutines.
func (l *Lab) SendmailAs(uid, gid int, from string, to []string, message string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := append([]string{"--", "-i", "-f", from}, to...)
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = []string{fmt.Sprintf("%s=%d:%d:%s", helperEnv, uid, gid, l.ConfDir)}
	cmd.Stdin = strings.NewReader(message)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("sendmail as uid %d: %v\n%s", uid, err, out)
	}
	return nil
}
