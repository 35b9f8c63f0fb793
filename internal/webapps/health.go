package webapps

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/vigie/vigie/internal/health"
)

// The web watch's blind causes.
const (
	// CauseScanUnreadable: the scan could not read a root or a directory
	// above the installs (a docroot of mode 0700 that vigie's user may
	// not enter): the sites there are neither rated nor known gone.
	CauseScanUnreadable health.Cause = "web-scan-unreadable"
	// CauseAccessLogUnreadable: an access log could not be read: attacks
	// on its sites go unseen.
	CauseAccessLogUnreadable health.Cause = "web-log-unreadable"
)

// sight is what the web watch knows of its own input, for Health.
type sight struct {
	mu          sync.Mutex
	lastScan    time.Time
	unseen      []ScanError // of the last scan
	unseenCount int
	logs        map[string]logFailure // access logs failing now
}

type logFailure struct {
	err   error
	since time.Time
}

func (s *sight) scanned(now time.Time, st ScanStats) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastScan, s.unseen, s.unseenCount = now, st.Unseen, st.UnseenCount
}

func (s *sight) logFailed(path string, err error, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.logs == nil {
		s.logs = map[string]logFailure{}
	}
	f, ok := s.logs[path]
	if !ok {
		f.since = now
	}
	f.err = err
	s.logs[path] = f
}

func (s *sight) logOpened(path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.logs, path)
}

// Health implements health.Reporter: blind under each root where the
// last scan could not read a place sites may be, and for each access log
// that cannot be read.
func (w *Watch) Health(now time.Time) health.Report {
	s := &w.sight
	s.mu.Lock()
	defer s.mu.Unlock()
	r := health.Report{LastSuccess: s.lastScan}
	byRoot := map[string][]ScanError{}
	for _, u := range s.unseen {
		byRoot[u.Root] = append(byRoot[u.Root], u)
	}
	for _, root := range w.o.Roots {
		us := byRoot[root]
		if len(us) == 0 {
			continue
		}
		paths := make([]string, 0, min(len(us), 10))
		for _, u := range us[:min(len(us), 10)] {
			paths = append(paths, u.Path+": "+u.Err)
		}
		more := ""
		if len(us) > 1 {
			more = fmt.Sprintf(" (%d places in all)", len(us))
		}
		if s.unseenCount > len(s.unseen) {
			more = fmt.Sprintf(" (%d places in all under the roots; the first %d are kept)", s.unseenCount, len(s.unseen))
		}
		r.Blind = append(r.Blind, health.Blind{Cause: CauseScanUnreadable, Subject: root,
			Summary: fmt.Sprintf("the web scan could not read under %s, the sites there are not rated: %s%s",
				root, health.Unreadable(us[0].Path, us[0].Cause), more),
			Evidence: map[string]string{"root": root, "unreadable": fmt.Sprint(len(us)), "paths": strings.Join(paths, "; ")}})
	}
	for _, src := range w.o.Logs {
		f, ok := s.logs[src.Path]
		if !ok {
			continue
		}
		r.Blind = append(r.Blind, health.Blind{Cause: CauseAccessLogUnreadable, Subject: src.Path,
			Summary:  "vigie cannot read the access log, attacks on its sites go unseen: " + health.Unreadable(src.Path, f.err),
			Evidence: map[string]string{"log": src.Path, "error": f.err.Error(), "since": f.since.UTC().Format(time.RFC3339)}})
	}
	return r
}

// underAny reports whether path is one of the unseen places or inside one.
func underAny(path string, unseen []ScanError) bool {
	for _, u := range unseen {
		if path == u.Path || strings.HasPrefix(path, strings.TrimSuffix(u.Path, "/")+"/") {
			return true
		}
	}
	return false
}
