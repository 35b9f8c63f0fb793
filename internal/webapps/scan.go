package webapps

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// ScanOptions bound and tune a scan.
type ScanOptions struct {
	Data *Data // nil: installs are found but not rated
	Now  func() time.Time
	// MaxDepth is how deep below a root installs are looked for (a root
	// of /var/www with sites at /var/www/<user>/<site>/ needs 2).
	MaxDepth int
	// NestedDepth is how deep below an install other installs are looked
	// for (a forgotten /blog inside a shop), outside the app's own dirs.
	NestedDepth int
	// MaxDirs stops a scan that has read this many directories, so that a
	// pathological tree cannot keep it running forever.
	MaxDirs int
	// AbandonedAfter: an install whose code and content did not change
	// for this long, and that is not current, is abandoned. 0: never.
	AbandonedAfter time.Duration
	// Users maps uids to names; nil: a fresh cache over /etc/passwd.
	Users *Users

	// onDir is told of every directory read (the watch keeps the ones above
	// the installs to notice new sites).
	onDir func(path string, install bool)
}

// ScanStats say what a scan covered and what it could not read.
type ScanStats struct {
	Roots     int
	Dirs      int
	Installs  int
	Errors    int         // unreadable dirs and files
	Samples   []ScanError // the first few errors, for the report
	Truncated bool        // MaxDirs was reached
	Duration  time.Duration
	// Unseen are the places where sites may be that the scan could not
	// read: a root, or a directory above the installs (a site's docroot
	// that vigie's user may not enter). What is in them is neither rated
	// nor known gone: the watch reports itself blind there. An unreadable
	// file or directory inside an install only counts in Errors (the
	// install itself was found). At most maxUnseen; UnseenCount counts all.
	Unseen      []ScanError
	UnseenCount int
}

// A ScanError is one path the scan could not read.
type ScanError struct {
	Root string `json:"root,omitempty"` // the root it is under
	Path string `json:"path"`
	Err  string `json:"error"`
	// Cause is the error itself (Unreadable explains a permission error).
	Cause error `json:"-"`
}

const maxUnseen = 100

const maxErrorSamples = 20

// Scan walks roots and calls emit for each install found, as soon as it is
// found: memory stays bounded however many sites there are. Symbolic links
// to directories are not followed (no loops, no escaping a user's tree);
// unreadable directories are counted and skipped.
func Scan(ctx context.Context, roots []string, o ScanOptions, emit func(*Install)) (ScanStats, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = 4
	}
	if o.NestedDepth < 0 {
		o.NestedDepth = 0
	}
	if o.MaxDirs <= 0 {
		o.MaxDirs = 5_000_000
	}
	if o.Users == nil {
		o.Users = NewUsers()
	}
	s := &scanner{o: o, emit: emit, now: o.Now()}
	start := time.Now()
	for _, root := range roots {
		if err := ctx.Err(); err != nil {
			return s.stats, err
		}
		s.stats.Roots++
		s.root = root
		abs, err := filepath.Abs(root)
		if err != nil {
			s.unseen(root, err)
			continue
		}
		// A root given as a symlink is followed once: the admin named it.
		if r, err := filepath.EvalSymlinks(abs); err == nil {
			abs = r
		}
		fi, err := os.Stat(abs)
		if err != nil {
			s.unseen(abs, err)
			continue
		}
		if !fi.IsDir() {
			s.unseen(abs, errors.New("not a directory"))
			continue
		}
		if err := s.walk(ctx, abs, 0, -1); err != nil {
			return s.stats, err
		}
	}
	s.stats.Duration = time.Since(start)
	return s.stats, nil
}

type scanner struct {
	o     ScanOptions
	emit  func(*Install)
	now   time.Time
	stats ScanStats
	head  []byte // reused read buffer
	root  string // the root being walked
}

func (s *scanner) fail(path string, err error) {
	s.stats.Errors++
	if len(s.stats.Samples) < maxErrorSamples {
		s.stats.Samples = append(s.stats.Samples, ScanError{Root: s.root, Path: path, Err: errText(err), Cause: err})
	}
}

// unseen is a failure where sites may be (see ScanStats.Unseen).
func (s *scanner) unseen(path string, err error) {
	s.fail(path, err)
	s.stats.UnseenCount++
	if len(s.stats.Unseen) < maxUnseen {
		s.stats.Unseen = append(s.stats.Unseen, ScanError{Root: s.root, Path: path, Err: errText(err), Cause: err})
	}
}

// failAt is a failure to read dir: unseen outside installs (nested < 0).
func (s *scanner) failAt(dir string, nested int, err error) {
	// A directory removed between its parent's listing and its opening
	// is gone, not out of sight.
	if nested < 0 && !errors.Is(err, fs.ErrNotExist) {
		s.unseen(dir, err)
	} else {
		s.fail(dir, err)
	}
}

// skipDirs are never searched for installs: they hold no docroots and can
// be huge.
var skipDirs = map[string]bool{
	".git": true, ".svn": true, ".hg": true, "node_modules": true, "vendor": true,
	"cache": true, ".cache": true, "tmp": true, "lost+found": true, "proc": true, "sys": true,
}

// firstNames are the first path components of every version file and
// marker: whether a directory holds one of them is read from its listing,
// so recognising an install costs no extra system call per app.
var firstNames = func() map[string]bool {
	m := map[string]bool{}
	for _, s := range specs {
		for _, l := range s.layouts {
			for _, rel := range append([]string{l.file}, l.markers...) {
				first, _, _ := strings.Cut(rel, "/")
				m[first] = true
			}
		}
	}
	return m
}()

// batch is how many entries are read at once: a site directory fits in
// one batch; a directory of 100,000 sites is read in many, never held.
const batch = 1024

// walk visits dir. nested is -1 outside any install, else how many levels
// below the nearest install dir is.
func (s *scanner) walk(ctx context.Context, dir string, depth, nested int) error {
	if s.stats.Dirs >= s.o.MaxDirs {
		s.stats.Truncated = true
		return nil
	}
	if s.stats.Dirs%1024 == 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	s.stats.Dirs++
	f, err := os.Open(dir)
	if err != nil {
		s.failAt(dir, nested, err)
		return nil
	}
	defer f.Close()
	first, err := f.ReadDir(batch)
	if err != nil && err != io.EOF {
		s.failAt(dir, nested, err)
		return nil
	}
	top := make(map[string]bool, 4)
	note := func(ents []fs.DirEntry) {
		for _, e := range ents {
			if firstNames[e.Name()] {
				top[e.Name()] = true
			}
		}
	}
	note(first)
	big := len(first) == batch
	if big {
		// Finish the listing for the names only, then list again below.
		for {
			more, err := f.ReadDir(batch)
			note(more)
			if len(more) == 0 || err != nil {
				break
			}
		}
	}
	var own map[string]bool
	in, spec := s.detect(dir, top)
	if s.o.onDir != nil {
		s.o.onDir(dir, in != nil)
	}
	if in != nil {
		s.stats.Installs++
		s.emit(in)
		nested = 0
		own = make(map[string]bool, len(spec.own))
		for _, o := range spec.own {
			own[o] = true
		}
	}
	if nested >= 0 {
		if nested >= s.o.NestedDepth {
			return nil
		}
	} else if depth >= s.o.MaxDepth {
		return nil
	}
	next := -1
	if nested >= 0 {
		next = nested + 1
	}
	visit := func(ents []fs.DirEntry) error {
		for _, e := range ents {
			name := e.Name()
			// Type() comes from the directory entry: symlinks are not
			// followed, so loops cannot trap the walk.
			if !e.IsDir() || skipDirs[name] || own[name] || strings.HasPrefix(name, ".") && name != ".well-known" {
				continue
			}
			if err := s.walk(ctx, filepath.Join(dir, name), depth+1, next); err != nil {
				return err
			}
		}
		return nil
	}
	if !big {
		return visit(first)
	}
	first = nil
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		s.fail(dir, err)
		return nil
	}
	for {
		ents, err := f.ReadDir(batch)
		if verr := visit(ents); verr != nil {
			return verr
		}
		if len(ents) == 0 || err != nil {
			if err != nil && err != io.EOF {
				s.fail(dir, err)
			}
			return nil
		}
	}
}

// headSize is how much of a version file is read: every version constant
// this package knows sits in the first 64 KiB, and a huge or endless file
// (a FIFO, /dev/zero behind a symlink) costs no more than that.
const headSize = 64 << 10

// readHead reads up to headSize bytes of a regular file.
func (s *scanner) readHead(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (%v)", fi.Mode().Type())
	}
	if cap(s.head) < headSize {
		s.head = make([]byte, headSize)
	}
	n, err := io.ReadFull(f, s.head[:headSize])
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, err
	}
	return s.head[:n], nil
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// detect says whether dir is the root of an install; top holds the names
// of firstNames present in dir's listing.
func (s *scanner) detect(dir string, top map[string]bool) (*Install, *appSpec) {
	if len(top) == 0 {
		return nil, nil
	}
	present := func(rel string) bool {
		first, _, _ := strings.Cut(rel, "/")
		if !top[first] {
			return false
		}
		return first == rel || exists(filepath.Join(dir, rel))
	}
	for _, spec := range specs {
		var found *layout
		var problems []string
		version := ""
		for i := range spec.layouts {
			l := &spec.layouts[i]
			if !present(l.file) || !anyPresent(present, l.markers) {
				continue
			}
			head, err := s.readHead(filepath.Join(dir, l.file))
			if err != nil {
				s.fail(filepath.Join(dir, l.file), err)
				problems = append(problems, l.file+": "+errText(err))
				if found == nil {
					found = l
				}
				continue
			}
			if l.reject != nil && l.reject.Match(head) {
				continue
			}
			if found == nil {
				found = l
			}
			if version = l.version(head); version != "" {
				found = l
				problems = nil
				break
			}
			problems = append(problems, l.file+": no version found in it")
		}
		if found == nil {
			continue
		}
		in := &Install{Path: dir, App: spec.id, Name: spec.name, Version: version, VersionFile: found.file, Problems: problems}
		s.inspect(in, spec, found, top["vendor"])
		in.Extensions = s.extensions(spec.id, dir)
		in.rate(s.o.Data, s.now, s.o.AbandonedAfter)
		return in, spec
	}
	return nil, nil
}

func anyPresent(present func(string) bool, rels []string) bool {
	for _, r := range rels {
		if present(r) {
			return true
		}
	}
	return false
}

func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// inspect fills owner, modification times, readable secrets and the
// composer.lock version.
func (s *scanner) inspect(in *Install, spec *appSpec, l *layout, hasVendor bool) {
	if fi, err := os.Stat(in.Path); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			in.UID = int(st.Uid)
			in.Owner = s.o.Users.Name(in.UID)
		}
	}
	for _, rel := range append([]string{l.file}, l.markers...) {
		if fi, err := os.Stat(filepath.Join(in.Path, rel)); err == nil && fi.ModTime().After(in.CodeModified) {
			in.CodeModified = fi.ModTime()
		}
	}
	for _, c := range spec.content {
		if t := newestDirTime(filepath.Join(in.Path, c), 3); t.After(in.ContentModified) {
			in.ContentModified = t
		}
	}
	in.ReadableSecrets = s.readableSecrets(in, spec)
	if v := composerVersion(in.Path, spec.composer); v != "" {
		in.ComposerVersion = v
		if in.Version == "" {
			in.Version = v
		} else if a, ok := ParseVersion(v); ok {
			if b, ok := ParseVersion(in.Version); ok && a.Compare(b) != 0 {
				in.Problems = append(in.Problems, fmt.Sprintf("composer.lock records %s but %s says %s", v, l.file, in.Version))
			}
		}
	}
	// PHPUnit under vendor/, in the install or, for a composer docroot
	// (web/, public/), in the project above it.
	var bases []string
	if hasVendor {
		bases = append(bases, in.Path)
	}
	switch filepath.Base(in.Path) {
	case "web", "public", "htdocs", "docroot", "pub":
		bases = append(bases, filepath.Dir(in.Path))
	}
	for _, base := range bases {
		head, err := s.readHead(filepath.Join(base, "vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php"))
		if err == nil && bytes.Contains(head, []byte("php://input")) {
			in.Problems = append(in.Problems, problemEvalStdin)
			break
		}
	}
}

// newestDirTime is the newest modification time of dir and, following the
// lexically greatest subdirectories (uploads/2025/11), up to depth levels
// below it. A directory's time moves when a file is added to it, which is
// what uploads and data directories see; reading only the newest branch
// keeps this to a few system calls per install.
func newestDirTime(dir string, depth int) time.Time {
	fi, err := os.Lstat(dir)
	if err != nil || !fi.IsDir() {
		return time.Time{}
	}
	newest := fi.ModTime()
	if depth == 0 {
		return newest
	}
	f, err := os.Open(dir)
	if err != nil {
		return newest
	}
	ents, _ := f.ReadDir(1024)
	f.Close()
	var subs []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			subs = append(subs, e.Name())
		}
	}
	sort.Strings(subs)
	for i := len(subs) - 1; i >= 0 && i >= len(subs)-2; i-- {
		if t := newestDirTime(filepath.Join(dir, subs[i]), depth-1); t.After(newest) {
			newest = t
		}
	}
	return newest
}

// readableSecrets lists the secret-holding config files that other users
// can read (the "other" read bit): on a shared host any local account, or
// any compromised site running as another user, can then read the
// database and mail passwords in them.
func (s *scanner) readableSecrets(in *Install, spec *appSpec) []string {
	var out []string
	seen := map[string]bool{}
	check := func(p string) {
		if seen[p] {
			return
		}
		seen[p] = true
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			return
		}
		if fi.Mode().Perm()&0o004 != 0 {
			out = append(out, p)
		}
	}
	debian := false
	if spec.id == "wordpress" {
		// Debian's wordpress package: wp-config.php only dispatches to
		// /etc/wordpress/config-<host>.php, which holds the secrets.
		head, err := s.readHead(filepath.Join(in.Path, "wp-config.php"))
		debian = err == nil && bytes.Contains(head, []byte("/etc/wordpress/config-"))
	}
	for _, pat := range spec.secrets {
		if debian && pat == "wp-config.php" {
			continue
		}
		matches, _ := filepath.Glob(filepath.Join(in.Path, pat))
		for _, m := range matches {
			check(filepath.Clean(m))
		}
	}
	if debian {
		matches, _ := filepath.Glob("/etc/wordpress/config-*.php")
		for _, m := range matches {
			check(m)
		}
		if len(matches) == 0 {
			in.Problems = append(in.Problems, "Debian layout: no /etc/wordpress/config-*.php yet (the site is not configured)")
		}
	}
	return out
}
