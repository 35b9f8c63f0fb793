package mail

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/mail/postfixlog"
)

// JournalFollower reads Postfix's lines from the systemd journal by
// running `journalctl --follow --output=json` on the mail syslog facility
// (Postfix logs to facility mail), resuming after the saved cursor
// (__CURSOR of the last entry handled). journalctl is used rather than
// libsystemd, so vigie stays a static binary without cgo; each entry's
// MESSAGE, SYSLOG_IDENTIFIER and _PID go to the parser without
// re-formatting a syslog line.
type JournalFollower struct {
	Journalctl string
	// Args are added before the match (for example --directory=DIR to
	// read another machine's journal files).
	Args    []string
	MaxLine int
	Load    func(ctx context.Context) (string, bool, error)
	Save    func(ctx context.Context, cursor string) error
	Entry   func(e *postfixlog.Entry)
	Skip    func()
	Logger  *slog.Logger
}

type journalEntry struct {
	Cursor     string          `json:"__CURSOR"`
	Realtime   string          `json:"__REALTIME_TIMESTAMP"`
	Hostname   string          `json:"_HOSTNAME"`
	Identifier string          `json:"SYSLOG_IDENTIFIER"`
	SyslogPID  string          `json:"SYSLOG_PID"`
	PID        string          `json:"_PID"`
	Message    json.RawMessage `json:"MESSAGE"`
}

// decodeJournal turns one line of journalctl -o json into an entry; it
// returns the entry's cursor.
func decodeJournal(line []byte, e *postfixlog.Entry) (string, error) {
	var j journalEntry
	if err := json.Unmarshal(line, &j); err != nil {
		return "", err
	}
	var msg string
	switch {
	case len(j.Message) > 0 && j.Message[0] == '"':
		if err := json.Unmarshal(j.Message, &msg); err != nil {
			return j.Cursor, err
		}
	case len(j.Message) > 0 && j.Message[0] == '[':
		// journalctl writes a message that is not valid UTF-8 as an array of bytes.
		var b []byte
		var ints []int
		if err := json.Unmarshal(j.Message, &ints); err != nil {
			return j.Cursor, err
		}
		for _, n := range ints {
			b = append(b, byte(n))
		}
		msg = string(b)
	}
	e.Reset()
	if us, err := strconv.ParseInt(j.Realtime, 10, 64); err == nil {
		e.Time = time.UnixMicro(us)
	}
	e.Host = j.Hostname
	pid := j.SyslogPID
	if pid == "" {
		pid = j.PID
	}
	n, _ := strconv.Atoi(pid)
	postfixlog.ParseMessage(j.Identifier, n, msg, e)
	return j.Cursor, nil
}

// Run follows the journal until ctx is done.
func (jf *JournalFollower) Run(ctx context.Context) error {
	if jf.Logger == nil {
		jf.Logger = slog.New(slog.DiscardHandler)
	}
	if jf.MaxLine <= 0 {
		jf.MaxLine = 64 << 10
	}
	cursor, have, err := jf.Load(ctx)
	if err != nil {
		return fmt.Errorf("loading the journal cursor: %w", err)
	}
	args := append([]string{"--follow", "--output=json", "--no-pager", "--quiet"}, jf.Args...)
	if have {
		args = append(args, "--after-cursor="+cursor)
	} else {
		args = append(args, "--lines=0")
	}
	args = append(args, "SYSLOG_FACILITY=2")
	cmd := exec.CommandContext(ctx, jf.Journalctl, args...)
	cmd.WaitDelay = 2 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("starting %s: %w", jf.Journalctl, err)
	}
	r := bufio.NewReaderSize(out, 64<<10)
	var e postfixlog.Entry
	lastSave := time.Now()
	saved := cursor
	save := func() {
		if cursor != saved {
			if err := jf.Save(context.WithoutCancel(ctx), cursor); err != nil {
				jf.Logger.Error("saving the journal cursor", "err", err)
				return
			}
			saved = cursor
		}
	}
	var readErr error
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// Too long: skip to the end of the line.
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = r.ReadSlice('\n')
			}
			if jf.Skip != nil {
				jf.Skip()
			}
			continue
		}
		if len(line) > 0 && err == nil {
			c, derr := decodeJournal(line, &e)
			if derr != nil {
				if jf.Skip != nil {
					jf.Skip()
				}
			} else {
				if len(e.Message) <= jf.MaxLine {
					jf.Entry(&e)
				} else if jf.Skip != nil {
					jf.Skip()
				}
			}
			if c != "" {
				cursor = c
			}
			if time.Since(lastSave) > time.Second {
				save()
				lastSave = time.Now()
			}
		}
		if err != nil {
			if err != io.EOF {
				readErr = err
			}
			break
		}
	}
	save()
	werr := cmd.Wait()
	if ctx.Err() != nil {
		return nil
	}
	if readErr != nil {
		return readErr
	}
	return fmt.Errorf("%s stopped: %v: %s", jf.Journalctl, werr, strings.TrimSpace(stderr.String()))
}

// JournalHasPostfix reports whether the journal holds recent Postfix lines
// (the auto switch's test when there is no log file).
func JournalHasPostfix(ctx context.Context, journalctl string) bool {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, journalctl, "--quiet", "--no-pager", "--lines=50", "--output=json", "SYSLOG_FACILITY=2").Output()
	if err != nil {
		return false
	}
	return bytes.Contains(out, []byte(`"SYSLOG_IDENTIFIER":"postfix`))
}
