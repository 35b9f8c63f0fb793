package webapps

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"syscall"
	"time"
)

// A follower reads a log file as it grows, like tail -F: it notices
// rotation (a new inode at the path) and truncation, and remembers where it
// was so a restart neither re-reads nor skips lines.
type follower struct {
	path  string
	poll  time.Duration
	max   int // longest line kept; longer ones are cut and counted
	f     *os.File
	cur   Cursor
	buf   []byte
	carry []byte
	// fromStart: the file appeared after the follower started.
	fromStart bool
	// opened, when set, is called each time the file is opened.
	opened func()
}

// Cursor is where a follower is in a file.
type Cursor struct {
	Inode  uint64 `json:"inode"`
	Offset int64  `json:"offset"`
}

func (c Cursor) encode() []byte { b, _ := json.Marshal(c); return b }

func decodeCursor(b []byte) (Cursor, bool) {
	var c Cursor
	return c, json.Unmarshal(b, &c) == nil && c.Offset >= 0
}

func inodeOf(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}

// open opens the file at the saved cursor if it is the same file and not
// shorter, else at its end (a first start does not alert on old history).
func (fw *follower) open(saved *Cursor) error {
	f, err := os.Open(fw.path)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	fw.f = f
	fw.cur = Cursor{Inode: inodeOf(fi), Offset: fi.Size()}
	if saved != nil && (saved.Inode == fw.cur.Inode || fw.fromStart) && saved.Offset <= fi.Size() {
		fw.cur.Offset = saved.Offset
	}
	_, err = f.Seek(fw.cur.Offset, io.SeekStart)
	return err
}

// run calls line for every complete line until ctx is done. save is
// called with the cursor after each batch.
func (fw *follower) run(ctx context.Context, saved *Cursor, line func([]byte), save func(Cursor), long func()) error {
	for fw.f == nil {
		if err := fw.open(saved); err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				return err
			}
			// Not there yet: wait for it, then read it from the start,
			// since every line in it is new.
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(fw.poll):
			}
			saved = &Cursor{Offset: 0}
			fw.fromStart = true
			continue
		}
	}
	defer func() { fw.f.Close() }()
	if fw.opened != nil {
		fw.opened()
	}
	if fw.buf == nil {
		fw.buf = make([]byte, 256<<10)
	}
	t := time.NewTicker(fw.poll)
	defer t.Stop()
	for {
		n, err := fw.f.Read(fw.buf)
		if n > 0 {
			fw.cur.Offset += int64(n)
			fw.split(fw.buf[:n], line, long)
			save(fw.cur)
			continue
		}
		if err != nil && err != io.EOF {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := fw.checkRotation(line, long); err != nil {
			return err
		}
	}
}

// split hands out complete lines; a partial last line waits for the rest.
func (fw *follower) split(b []byte, line func([]byte), long func()) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			if len(fw.carry)+len(b) > fw.max {
				long()
				fw.carry = fw.carry[:0]
				return
			}
			fw.carry = append(fw.carry, b...)
			return
		}
		if len(fw.carry) > 0 {
			if len(fw.carry)+i <= fw.max {
				fw.carry = append(fw.carry, b[:i]...)
				line(fw.carry)
			} else {
				long()
			}
			fw.carry = fw.carry[:0]
		} else if i <= fw.max {
			line(b[:i])
		} else {
			long()
		}
		b = b[i+1:]
	}
}

// checkRotation reopens the path when logrotate moved the file away (the
// rest of the old file was read first) or when it was truncated.
func (fw *follower) checkRotation(line func([]byte), long func()) error {
	fi, err := os.Stat(fw.path)
	if err != nil {
		return nil // moved away, new one not created yet
	}
	if inodeOf(fi) != fw.cur.Inode {
		// Read what is left of the old file, then switch.
		for {
			n, _ := fw.f.Read(fw.buf)
			if n == 0 {
				break
			}
			fw.cur.Offset += int64(n)
			fw.split(fw.buf[:n], line, long)
		}
		fw.f.Close()
		f, err := os.Open(fw.path)
		if err != nil {
			return err
		}
		fw.f, fw.cur, fw.carry = f, Cursor{Inode: inodeOf(fi)}, fw.carry[:0]
		return nil
	}
	if fi.Size() < fw.cur.Offset {
		if _, err := fw.f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		fw.cur.Offset, fw.carry = 0, fw.carry[:0]
	}
	return nil
}
