package mail

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Cursor is where a file follower stopped: the file (device and inode),
// the offset after the last line it handled, and a fingerprint of the
// file's first bytes, which tells a copytruncate rotation's copy from
// another file.
type Cursor struct {
	Dev     uint64 `json:"dev"`
	Ino     uint64 `json:"ino"`
	Offset  int64  `json:"offset"`
	HeadLen int    `json:"head_len"`
	Head    string `json:"head"` // hex SHA-256 of the first HeadLen bytes
}

// FileFollower reads a log file as it grows and survives rotation by
// rename (logrotate's default, Postfix's postfix logrotate) and by
// copytruncate. It resumes from a saved cursor: lines handled before a
// stop are not read again, lines written while vigie was down (also in
// the rotated file, when the rotation happened meanwhile and the rotated
// file is still uncompressed) are read once.
//
// Lines are handled at least once: the cursor is saved after each batch,
// so a crash between handling a batch and saving may hand its lines again
// at restart; a clean stop saves first and loses nothing.
type FileFollower struct {
	Path    string
	Poll    time.Duration
	MaxLine int
	// FromStart reads an unknown file (no saved cursor) from its start;
	// otherwise from its end, so that the first start does not replay
	// history as if it were live.
	FromStart bool
	Load      func(ctx context.Context) (Cursor, bool, error)
	Save      func(ctx context.Context, c Cursor) error
	// Line handles one line without its newline; Skip is told of a line
	// longer than MaxLine.
	Line   func(line string)
	Skip   func()
	Logger *slog.Logger
	// Stop, when set, is checked every few thousand lines of a long read.
	Stop func() bool
	// Rotated is told of each rotation it followed ("rename", "truncate").
	Rotated func(kind string)
	// CaughtUp, when set, is called each time every line written so far
	// has been handed over (and the cursor saved): only then may the
	// wall clock close the detectors' windows.
	CaughtUp func()
	// Unreadable, when set, is told each time the log is there but cannot
	// be opened (permission denied: vigie's user is not in the log's
	// group), and told nil once it opens: the follower then keeps trying
	// every Poll instead of failing, so fixing the permissions needs no
	// restart. A new file after a rotation that cannot be opened is told
	// too (the follower keeps the old one). Unset: such an error is
	// returned.
	Unreadable func(err error)
}

type openFile struct {
	f       *os.File
	dev     uint64
	ino     uint64
	off     int64 // after the last complete line handed over
	partial []byte
	tooLong bool
	head    []byte
}

func fileID(fi os.FileInfo) (dev, ino uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), st.Ino
	}
	return 0, 0
}

func headOf(f *os.File) []byte {
	b := make([]byte, 256)
	n, _ := f.ReadAt(b, 0)
	return b[:n]
}

func digest(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func (o *openFile) cursor() Cursor {
	return Cursor{Dev: o.dev, Ino: o.ino, Offset: o.off, HeadLen: len(o.head), Head: digest(o.head)}
}

// sameHead reports whether f starts with the bytes fingerprinted in c.
func sameHead(f *os.File, c Cursor) bool {
	b := make([]byte, c.HeadLen)
	n, _ := f.ReadAt(b, 0)
	return n == c.HeadLen && digest(b) == c.Head
}

func (ff *FileFollower) open(path string) (*openFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	o := &openFile{f: f}
	o.dev, o.ino = fileID(fi)
	o.head = headOf(f)
	return o, nil
}

// Run follows the file until ctx is done; it saves the cursor before
// returning.
func (ff *FileFollower) Run(ctx context.Context) error {
	if ff.MaxLine <= 0 {
		ff.MaxLine = 64 << 10
	}
	if ff.Poll <= 0 {
		ff.Poll = 250 * time.Millisecond
	}
	if ff.Logger == nil {
		ff.Logger = slog.New(slog.DiscardHandler)
	}
	cur, have, err := ff.Load(ctx)
	if err != nil {
		return fmt.Errorf("loading the log cursor: %w", err)
	}
	tick := time.NewTicker(ff.Poll)
	defer tick.Stop()
	var o *openFile
	for o == nil {
		o, err = ff.open(ff.Path)
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				if ff.Unreadable == nil {
					return err
				}
				ff.Unreadable(err)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
				continue
			}
		}
	}
	defer func() { o.f.Close() }()
	if ff.Unreadable != nil {
		ff.Unreadable(nil)
	}
	if err := ff.resume(ctx, o, cur, have); err != nil {
		return err
	}
	saved := o.cursor()
	save := func() error {
		c := o.cursor()
		if c == saved {
			return nil
		}
		if err := ff.Save(context.WithoutCancel(ctx), c); err != nil {
			return fmt.Errorf("saving the log cursor: %w", err)
		}
		saved = c
		return nil
	}
	for {
		if err := ff.drain(o); err != nil {
			return err
		}
		if len(o.head) < 256 {
			o.head = headOf(o.f)
		}
		next, kind, err := ff.checkRotation(o)
		if err != nil {
			return err
		}
		if next != nil {
			// Hand over what the old file still holds, then follow the new one.
			if err := ff.drain(o); err != nil {
				return err
			}
			ff.flushPartial(o)
			o.f.Close()
			o = next
			if ff.Rotated != nil {
				ff.Rotated(kind)
			}
			ff.Logger.Info("log rotated", "path", ff.Path, "how", kind)
			continue
		}
		if err := save(); err != nil {
			return err
		}
		if ff.CaughtUp != nil {
			ff.CaughtUp()
		}
		select {
		case <-ctx.Done():
			return save()
		case <-tick.C:
		}
	}
}

// resume positions o according to the saved cursor, first reading what
// the rotated file still held when a rotation happened while vigie was
// down.
func (ff *FileFollower) resume(ctx context.Context, o *openFile, c Cursor, have bool) error {
	if !have {
		if ff.FromStart {
			return nil
		}
		end, err := o.f.Seek(0, io.SeekEnd)
		if err != nil {
			return err
		}
		// Start after the last complete line.
		o.off = end
		return nil
	}
	fi, err := o.f.Stat()
	if err != nil {
		return err
	}
	if c.Dev == o.dev && c.Ino == o.ino && fi.Size() >= c.Offset && sameHead(o.f, c) {
		o.off = c.Offset
		_, err := o.f.Seek(c.Offset, io.SeekStart)
		return err
	}
	// Rotated while down: the old file is a rotated name with our inode
	// (rename), or a copy that starts like ours (copytruncate).
	if old := ff.findRotated(c); old != nil {
		ff.Logger.Info("reading the rest of the rotated log", "path", old.Name(), "from", c.Offset)
		ro := &openFile{f: old, off: c.Offset}
		if _, err := old.Seek(c.Offset, io.SeekStart); err == nil {
			if err := ff.drain(ro); err != nil {
				old.Close()
				return err
			}
			ff.flushPartial(ro)
		}
		old.Close()
	} else {
		ff.Logger.Warn("the log was rotated while vigie was stopped and the old file is gone or compressed; reading the new one from its start",
			"path", ff.Path)
	}
	if ff.Rotated != nil {
		ff.Rotated("restart")
	}
	return nil
}

// rotatedNames lists where logrotate and savelog put the previous file.
func (ff *FileFollower) rotatedNames() []string {
	names := []string{ff.Path + ".1", ff.Path + ".0"}
	dated, _ := filepath.Glob(ff.Path + "-*")
	sort.Sort(sort.Reverse(sort.StringSlice(dated)))
	for _, d := range dated {
		if !strings.HasSuffix(d, ".gz") && !strings.HasSuffix(d, ".xz") && !strings.HasSuffix(d, ".zst") && !strings.HasSuffix(d, ".bz2") {
			names = append(names, d)
		}
	}
	return names
}

// findRotated opens the rotated file that holds the lines after cursor c.
func (ff *FileFollower) findRotated(c Cursor) *os.File {
	for _, name := range ff.rotatedNames() {
		f, err := os.Open(name)
		if err != nil {
			continue
		}
		fi, err := f.Stat()
		if err == nil && fi.Size() >= c.Offset {
			dev, ino := fileID(fi)
			if (dev == c.Dev && ino == c.Ino) || sameHead(f, c) {
				return f
			}
		}
		f.Close()
	}
	return nil
}

// checkRotation looks at the path: another file there (rename), or ours
// shorter than what we read (copytruncate).
func (ff *FileFollower) checkRotation(o *openFile) (*openFile, string, error) {
	fi, err := os.Stat(ff.Path)
	if err != nil {
		// Renamed and not yet re-created, or there but out of reach:
		// keep reading the old one.
		if ff.Unreadable != nil && !errors.Is(err, os.ErrNotExist) {
			ff.Unreadable(err)
		}
		return nil, "", nil
	}
	dev, ino := fileID(fi)
	if dev != o.dev || ino != o.ino {
		next, err := ff.open(ff.Path)
		if err != nil {
			// Not yet there, or created with a mode vigie may not read
			// (logrotate's create 0600 root root): keep the old file.
			if ff.Unreadable != nil && !errors.Is(err, os.ErrNotExist) {
				ff.Unreadable(err)
			}
			return nil, "", nil
		}
		if ff.Unreadable != nil {
			ff.Unreadable(nil)
		}
		return next, "rename", nil
	}
	if fi.Size() < o.off || !headStill(ff.Path, o.head) {
		// Truncated in place: the lines after o.off were copied to the
		// rotated file before the truncation.
		c := o.cursor()
		if old := ff.findRotated(c); old != nil {
			ro := &openFile{f: old, off: o.off, partial: o.partial, tooLong: o.tooLong}
			if _, err := old.Seek(o.off, io.SeekStart); err == nil {
				if err := ff.drain(ro); err != nil {
					old.Close()
					return nil, "", err
				}
				ff.flushPartial(ro)
			}
			old.Close()
			o.partial, o.tooLong = nil, false
		}
		next, err := ff.open(ff.Path)
		if err != nil {
			return nil, "", nil
		}
		if next.ino == o.ino {
			// Same inode: start over at the beginning.
			o.partial, o.tooLong = nil, false
		}
		return next, "truncate", nil
	}
	return nil, "", nil
}

// headStill reports whether the file at path still starts with head (a
// copytruncate followed by new writes beyond our offset changes it).
func headStill(path string, head []byte) bool {
	f, err := os.Open(path)
	if err != nil {
		return true
	}
	defer f.Close()
	b := make([]byte, len(head))
	n, _ := f.ReadAt(b, 0)
	return bytes.Equal(b[:n], head)
}

// drain hands over every complete line from the file's current position.
func (ff *FileFollower) drain(o *openFile) error {
	r := bufio.NewReaderSize(o.f, 64<<10)
	for n := 1; ; n++ {
		if n&4095 == 0 && ff.Stop != nil && ff.Stop() {
			return context.Canceled
		}
		chunk, err := r.ReadSlice('\n')
		if len(chunk) > 0 {
			if chunk[len(chunk)-1] == '\n' {
				line := chunk[:len(chunk)-1]
				if len(o.partial) > 0 {
					line = append(o.partial, line...)
				}
				if o.tooLong || len(line) > ff.MaxLine {
					if ff.Skip != nil {
						ff.Skip()
					}
				} else {
					ff.Line(string(bytes.TrimSuffix(line, []byte{'\r'})))
				}
				o.off += int64(len(chunk)) + int64(len(o.partial))
				o.partial, o.tooLong = o.partial[:0], false
			} else if !o.tooLong {
				if len(o.partial)+len(chunk) > ff.MaxLine {
					o.tooLong = true
					o.off += int64(len(o.partial))
					o.partial = o.partial[:0]
					o.off += int64(len(chunk))
				} else {
					o.partial = append(o.partial, chunk...)
				}
			} else {
				o.off += int64(len(chunk))
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err == io.EOF {
			// Leave the file position after what was read: the partial
			// line is kept in memory, and o.off stays before it.
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", ff.Path, err)
		}
	}
}

// flushPartial hands over a last line without a newline (a rotated file
// that ended mid-line is complete).
func (ff *FileFollower) flushPartial(o *openFile) {
	if len(o.partial) > 0 && !o.tooLong {
		ff.Line(string(o.partial))
	}
	o.partial, o.tooLong = nil, false
}
