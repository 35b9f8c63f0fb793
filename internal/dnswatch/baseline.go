package dnswatch

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The baseline file holds the expected state of every domain: what was
// seen on first use, or approved since. It is the only copy (the daemon
// and `vigie dns approve` both change it, one at a time under an flock),
// written to a temporary file and renamed, so a crash leaves the old or
// the new file, never half of one.
//
// Format, one record a line, tab separated:
//
//	# vigie dns baseline 1
//	v <id> <value, Go-quoted>
//	d <domain> <9 value ids: ns ds glue a aaaa mx spf dmarc caa; 0 = not known>
//
// Values are listed once and referenced by number, since millions of
// domains share a few NS sets and records.
const baselineHeader = "# vigie dns baseline 1"

type baselineFile struct {
	path string
	seen fileStamp
}

type fileStamp struct {
	size  int64
	mtime time.Time
	ino   uint64
}

func stampOf(fi os.FileInfo) fileStamp {
	s := fileStamp{size: fi.Size(), mtime: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.ino = st.Ino
	}
	return s
}

// lockFile takes an exclusive lock beside path; call the returned func to
// release it.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("baseline lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("baseline lock %s: %w", path+".lock", err)
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// reloadIfChanged reads the file again when someone else (an approval)
// changed it since this monitor last read or wrote it.
func (b *baselineFile) reloadIfChanged(m *Monitor) error {
	if b.path == "" {
		return nil
	}
	unlock, err := lockFile(b.path)
	if err != nil {
		return err
	}
	defer unlock()
	return b.reloadLocked(m)
}

func (b *baselineFile) reloadLocked(m *Monitor) error {
	fi, err := os.Stat(b.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	if stampOf(fi) == b.seen {
		return nil
	}
	f, err := os.Open(b.path)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	defer f.Close()
	vals := map[uint32]valueID{0: 0} // file id -> our id
	err = readBaseline(f, b.path, func(id uint32, v string) error {
		vals[id] = m.vals.id(v)
		return nil
	}, func(name string, ids [numKinds]uint32) error {
		i := m.find(name)
		if i < 0 {
			return nil // no longer in the inventory
		}
		for k, id := range ids {
			v, ok := vals[id]
			if !ok {
				return fmt.Errorf("value %d is not defined above", id)
			}
			m.domains[i].base[k] = v
		}
		return nil
	})
	if err != nil {
		return err
	}
	b.seen = stampOf(fi)
	return nil
}

// readBaseline parses the file; v lines must come before the d lines
// that use them.
func readBaseline(r io.Reader, name string, value func(id uint32, v string) error, dom func(name string, ids [numKinds]uint32) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		t := sc.Text()
		if t == "" || t[0] == '#' {
			continue
		}
		f := strings.Split(t, "\t")
		var err error
		switch {
		case f[0] == "v" && len(f) == 3:
			var id uint64
			var v string
			if id, err = strconv.ParseUint(f[1], 10, 32); err == nil && id > 0 {
				if v, err = strconv.Unquote(f[2]); err == nil {
					err = value(uint32(id), v)
				}
			} else if err == nil {
				err = errors.New("value id 0")
			}
		case f[0] == "d" && len(f) == 2+int(numKinds):
			var ids [numKinds]uint32
			for k := range ids {
				var n uint64
				if n, err = strconv.ParseUint(f[2+k], 10, 32); err != nil {
					break
				}
				ids[k] = uint32(n)
			}
			if err == nil {
				err = dom(f[1], ids)
			}
		default:
			err = errors.New("expected a v or d record")
		}
		if err != nil {
			return fmt.Errorf("baseline %s:%d: %v (the file is written by vigie; restore it or run 'vigie dns baseline')", name, line, err)
		}
	}
	return sc.Err()
}

// save writes the baseline of every domain. If the file changed since
// it was read (an approval), its values win and are read first; values
// learned in this sweep then fill what is still unknown.
func (b *baselineFile) save(m *Monitor) error {
	if b.path == "" {
		return nil
	}
	unlock, err := lockFile(b.path)
	if err != nil {
		return err
	}
	defer unlock()
	if fi, err := os.Stat(b.path); err == nil && stampOf(fi) != b.seen {
		if err := b.reloadLocked(m); err != nil {
			return err
		}
		for i := range m.domains {
			d := &m.domains[i]
			for k := range d.base {
				if d.base[k] == 0 {
					d.base[k] = d.obs[k]
				}
			}
		}
	}
	return b.writeLocked(m)
}

// saveOver writes the monitor's baseline over whatever the file holds.
func (b *baselineFile) saveOver(m *Monitor) error {
	if b.path == "" {
		return nil
	}
	unlock, err := lockFile(b.path)
	if err != nil {
		return err
	}
	defer unlock()
	return b.writeLocked(m)
}

func (b *baselineFile) writeLocked(m *Monitor) error {
	err := writeFileAtomic(b.path, func(w *bufio.Writer) error {
		fmt.Fprintln(w, baselineHeader)
		used := map[valueID]bool{}
		for i := range m.domains {
			for _, id := range m.domains[i].base {
				if id != 0 && !used[id] {
					used[id] = true
					fmt.Fprintf(w, "v\t%d\t%s\n", id, strconv.Quote(m.vals.value(id)))
				}
			}
		}
		for i := range m.domains {
			d := &m.domains[i]
			w.WriteString("d\t")
			w.WriteString(d.name)
			for _, id := range d.base {
				w.WriteByte('\t')
				w.WriteString(strconv.FormatUint(uint64(id), 10))
			}
			w.WriteByte('\n')
		}
		return nil
	})
	if err != nil {
		return err
	}
	fi, err := os.Stat(b.path)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	b.seen = stampOf(fi)
	return nil
}

func writeFileAtomic(path string, fill func(w *bufio.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 1<<20)
	if err := fill(w); err != nil {
		tmp.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("baseline: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("baseline: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	return nil
}

// SetBaseline records values as the expected state, in the baseline file
// at path, without loading the inventory: used by `vigie dns approve`.
// set maps a domain to the kinds to change and their new values.
func SetBaseline(path string, set map[string]map[Kind]string) error {
	unlock, err := lockFile(path)
	if err != nil {
		return err
	}
	defer unlock()
	var lines []string
	var maxID uint32
	type pending struct {
		line int
		ids  [numKinds]uint32
	}
	found := map[string]pending{}
	f, err := os.Open(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("baseline: %w", err)
	}
	if f != nil {
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return fmt.Errorf("baseline: %w", err)
		}
		err = readBaseline(strings.NewReader(strings.Join(lines, "\n")), path, func(id uint32, v string) error {
			maxID = max(maxID, id)
			return nil
		}, func(name string, ids [numKinds]uint32) error {
			if _, ok := set[name]; ok {
				found[name] = pending{ids: ids}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	var extra []string
	for name, kinds := range set {
		p := found[name]
		for k, v := range kinds {
			maxID++
			extra = append(extra, fmt.Sprintf("v\t%d\t%s", maxID, strconv.Quote(v)))
			p.ids[k] = maxID
		}
		found[name] = p
	}
	return writeFileAtomic(path, func(w *bufio.Writer) error {
		if len(lines) == 0 {
			fmt.Fprintln(w, baselineHeader)
		}
		for _, l := range lines {
			if strings.HasPrefix(l, "d\t") {
				name := l[2:]
				if i := strings.IndexByte(name, '\t'); i >= 0 {
					name = name[:i]
				}
				if _, ok := set[name]; ok {
					continue // written again below with its new values
				}
			}
			w.WriteString(l)
			w.WriteByte('\n')
		}
		for _, l := range extra {
			w.WriteString(l)
			w.WriteByte('\n')
		}
		for name := range set {
			p := found[name]
			w.WriteString("d\t" + name)
			for _, id := range p.ids {
				w.WriteString("\t" + strconv.FormatUint(uint64(id), 10))
			}
			w.WriteByte('\n')
		}
		return nil
	})
}
