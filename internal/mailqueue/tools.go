package mailqueue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"
)

// Tools runs the Postfix queue programs.
type Tools struct {
	// ConfigDir is passed as -c DIR when set.
	ConfigDir string
	// Each command is a program and its first arguments.
	Postqueue []string
	Postsuper []string
	Postcat   []string
	// Timeout bounds one run (default 2 minutes).
	Timeout time.Duration
}

func (t *Tools) timeout() time.Duration {
	if t.Timeout <= 0 {
		return 2 * time.Minute
	}
	return t.Timeout
}

// command builds argv: the configured program and arguments, -c DIR, then
// args. No shell is involved.
func (t *Tools) command(ctx context.Context, base []string, args ...string) (*exec.Cmd, error) {
	if len(base) == 0 || base[0] == "" {
		return nil, errors.New("no program configured")
	}
	argv := append([]string(nil), base[1:]...)
	if t.ConfigDir != "" {
		argv = append(argv, "-c", t.ConfigDir)
	}
	argv = append(argv, args...)
	cmd := exec.CommandContext(ctx, base[0], argv...)
	cmd.WaitDelay = time.Second
	return cmd, nil
}

// output runs a command and returns at most max bytes of its standard
// output; more is an error, so a huge queue cannot exhaust memory.
func output(cmd *exec.Cmd, stdin io.Reader, max int64) ([]byte, error) {
	var out bytes.Buffer
	var errBuf limitedBuffer
	errBuf.max = 4096
	cmd.Stdin = stdin
	cmd.Stdout = &capped{w: &out, left: max}
	cmd.Stderr = &errBuf
	err := cmd.Run()
	if err != nil {
		msg := strings.TrimSpace(errBuf.String())
		if msg != "" {
			return out.Bytes(), fmt.Errorf("%s: %w: %s", cmd.Path, err, msg)
		}
		return out.Bytes(), fmt.Errorf("%s: %w", cmd.Path, err)
	}
	return out.Bytes(), nil
}

var errTooLarge = errors.New("output too large")

type capped struct {
	w    io.Writer
	left int64
}

func (c *capped) Write(p []byte) (int, error) {
	if int64(len(p)) > c.left {
		return 0, errTooLarge
	}
	c.left -= int64(len(p))
	return c.w.Write(p)
}

type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		if len(p) > room {
			b.Buffer.Write(p[:room])
		} else {
			b.Buffer.Write(p)
		}
	}
	return len(p), nil
}
