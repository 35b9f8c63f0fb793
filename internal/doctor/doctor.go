// Package doctor is what `vigie doctor` says about this machine: for each
// watch, what it would watch here and why not the rest, each with the fix.
// Each watch answers for itself (its descriptor's Doctor hook, using the
// watch's own discovery code); this package holds the shared words: a
// Check, the account the daemon runs as (to say whether it could read a
// file), and the report.
package doctor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vigie/vigie/internal/config"
)

// Status of one check.
type Status string

const (
	// OK: vigie would watch it.
	OK Status = "ok"
	// Off: nothing to watch here, and the configuration does not ask for
	// it (a watch under auto whose inputs are absent).
	Off Status = "off"
	// Warn: vigie would run, but something should be fixed.
	Warn Status = "warn"
	// Fail: vigie cannot do what its configuration asks.
	Fail Status = "fail"
)

// The parts of a report that are not watches: vigie itself and its
// notifiers. They never count as "something watched".
const (
	Self     = "vigie"
	Notifier = "notify"
)

func isWatch(name string) bool { return name != Self && name != Notifier }

// Check is one thing vigie looked at.
type Check struct {
	Watch  string `json:"watch"`  // "mail", or "vigie" for vigie's own parts
	Item   string `json:"item"`   // "mail log", "queue", "policy lines"
	Status Status `json:"status"` // ok, off, warn, fail
	Found  string `json:"found"`  // what was found, in words
	Fix    string `json:"fix,omitempty"`
}

// Env is what a watch's Doctor may use.
type Env struct {
	Config *config.Config
	// DataDir is vigie's data directory (the RDAP bootstrap, the DNS
	// baseline live there).
	DataDir string
	// Account is who the daemon runs as: file checks say whether it could
	// read them.
	Account Account
	// Timeout bounds one network check (a CT log, a resolver).
	Timeout time.Duration
}

// Account is a user and the groups it would run with.
type Account struct {
	Name   string
	UID    int
	Groups []int // primary and supplementary
}

// DaemonAccount is the account vigie.service runs as: the vigie user with
// its group and the unit's SupplementaryGroups (adm, systemd-journal), when
// that user exists; else whoever runs vigie doctor.
func DaemonAccount() Account {
	if u, err := user.Lookup("vigie"); err == nil {
		a := Account{Name: "vigie"}
		a.UID, _ = strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		a.Groups = append(a.Groups, gid)
		for _, g := range []string{"adm", "systemd-journal"} {
			if gr, err := user.LookupGroup(g); err == nil {
				n, _ := strconv.Atoi(gr.Gid)
				a.Groups = append(a.Groups, n)
			}
		}
		return a
	}
	a := Account{UID: os.Getuid(), Name: strconv.Itoa(os.Getuid())}
	if u, err := user.Current(); err == nil {
		a.Name = u.Username
	}
	a.Groups = append(a.Groups, os.Getgid())
	if gs, err := os.Getgroups(); err == nil {
		a.Groups = append(a.Groups, gs...)
	}
	return a
}

// UserAccount is the account of a user name (or uid) with its primary and
// supplementary groups, as the system lists them.
func UserAccount(name string) (Account, error) {
	u, err := user.Lookup(name)
	if err != nil {
		if u, err = user.LookupId(name); err != nil {
			return Account{}, fmt.Errorf("no user %q", name)
		}
	}
	a := Account{Name: u.Username}
	a.UID, _ = strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	a.Groups = append(a.Groups, gid)
	if gs, err := u.GroupIds(); err == nil {
		for _, g := range gs {
			n, _ := strconv.Atoi(g)
			a.Groups = append(a.Groups, n)
		}
	}
	return a, nil
}

// CanRead says whether the account could read path (a file) or list it
// (a directory), from its mode bits, and why not. Root reads everything.
func (a Account) CanRead(path string) error { return a.can(path, 4, 5, "readable") }

// CanWrite says whether the account could write in a directory (create
// and remove files there), from its mode bits, and why not.
func (a Account) CanWrite(dir string) error { return a.can(dir, 2, 3, "writable") }

func (a Account) can(path string, needFile, needDir os.FileMode, what string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if a.UID == 0 {
		return nil
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	need := needFile
	if fi.IsDir() {
		need = needDir
	}
	mode := fi.Mode().Perm()
	switch {
	case int(st.Uid) == a.UID:
		if mode>>6&need == need {
			return nil
		}
	case a.inGroup(int(st.Gid)):
		if mode>>3&need == need {
			return nil
		}
	default:
		if mode&need == need {
			return nil
		}
	}
	owner, group := strconv.Itoa(int(st.Uid)), strconv.Itoa(int(st.Gid))
	if u, err := user.LookupId(owner); err == nil {
		owner = u.Username
	}
	if g, err := user.LookupGroupId(group); err == nil {
		group = g.Name
	}
	return fmt.Errorf("%s (%s %s:%s) is not %s by the %s user", path, mode, owner, group, what, a.Name)
}

func (a Account) inGroup(gid int) bool {
	for _, g := range a.Groups {
		if g == gid {
			return true
		}
	}
	return false
}

// A Func is one watch's (or part's) doctor.
type Func func(ctx context.Context, env Env) []Check

// Failed says whether any check failed, or nothing at all would be
// watched: vigie doctor then exits 1.
func Failed(cs []Check) bool {
	watching := false
	for _, c := range cs {
		if c.Status == Fail {
			return true
		}
		if c.Status == OK && isWatch(c.Watch) {
			watching = true
		}
	}
	return !watching
}

// Summary is the one line that ends the report.
func Summary(cs []Check) string {
	var on, off []string
	seen := map[string]bool{}
	status := map[string]Status{}
	for _, c := range cs {
		if !isWatch(c.Watch) {
			continue
		}
		if !seen[c.Watch] {
			seen[c.Watch] = true
			status[c.Watch] = c.Status
		}
		if c.Status == OK || c.Status == Warn {
			status[c.Watch] = OK
		}
	}
	for _, c := range cs {
		if !seen[c.Watch] {
			continue
		}
		seen[c.Watch] = false
		if status[c.Watch] == OK {
			on = append(on, c.Watch)
		} else {
			off = append(off, c.Watch)
		}
	}
	fails := 0
	for _, c := range cs {
		if c.Status == Fail {
			fails++
		}
	}
	s := "vigie would watch: " + list(on)
	if len(off) > 0 {
		s += "; not: " + list(off)
	}
	if fails > 0 {
		s += fmt.Sprintf("; %d problem(s) to fix", fails)
	}
	return s
}

func list(xs []string) string {
	if len(xs) == 0 {
		return "nothing"
	}
	return strings.Join(xs, ", ")
}

// WriteText prints the report for a terminal: one block per check.
func WriteText(w io.Writer, cs []Check) {
	last := ""
	for _, c := range cs {
		if c.Watch != last {
			fmt.Fprintf(w, "\n%s\n", c.Watch)
			last = c.Watch
		}
		fmt.Fprintf(w, "  [%-4s] %s: %s\n", c.Status, c.Item, c.Found)
		if c.Fix != "" {
			fmt.Fprintf(w, "         fix: %s\n", c.Fix)
		}
	}
	fmt.Fprintf(w, "\n%s\n", Summary(cs))
}

// WriteJSON prints the report as one JSON object.
func WriteJSON(w io.Writer, cs []Check) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Checks  []Check `json:"checks"`
		Summary string  `json:"summary"`
		OK      bool    `json:"ok"`
	}{cs, Summary(cs), !Failed(cs)})
}
