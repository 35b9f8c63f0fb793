package health

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
)

// Unreadable says why vigie cannot read path, for a blind report an admin
// can act on: the error, the user and groups vigie runs as, the owner,
// group and mode of the file (or of the first directory on the way that
// vigie may not search), and, when the file's group may read it, the group
// to add vigie's user to. The systemd unit runs vigie as user vigie, which
// Debian's logs (root:adm 0640) do not let in unless it is in group adm.
func Unreadable(path string, err error) string {
	msg := fmt.Sprintf("%s: %s", path, errText(err))
	if !errors.Is(err, fs.ErrPermission) {
		return msg
	}
	me := Identity()
	// The first directory on the way that vigie may not search, else the
	// file itself.
	target := path
	var dirs []string
	for dir := filepath.Dir(path); dir != "/" && dir != "."; dir = filepath.Dir(dir) {
		dirs = append(dirs, dir)
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if syscall.Access(dirs[i], 1) != nil { // X_OK
			target = dirs[i]
			break
		}
	}
	fi := statOwner(target)
	msg += fmt.Sprintf(" (vigie runs as %s", me)
	if fi == nil {
		return msg + ")"
	}
	msg += fmt.Sprintf("; %s is %s:%s %04o)", target, userName(fi.Uid), groupName(fi.Gid), fi.Mode&0o7777)
	groups, _ := os.Getgroups()
	inGroup := fi.Gid == uint32(os.Getgid()) || slices.Contains(groups, int(fi.Gid))
	if !inGroup && fi.Mode&0o040 != 0 && (target == path || fi.Mode&0o010 != 0) {
		g := groupName(fi.Gid)
		msg += fmt.Sprintf(": give vigie group %s (usermod -aG %s %s, or SupplementaryGroups=%s in its systemd unit) and restart vigie",
			g, g, userName(uint32(os.Getuid())), g)
	}
	return msg
}

func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func statOwner(path string) *syscall.Stat_t {
	fi, err := os.Stat(path)
	if err != nil {
		return nil
	}
	st, _ := fi.Sys().(*syscall.Stat_t)
	return st
}

// Identity is who vigie runs as: "user vigie (uid 998), groups vigie, adm".
func Identity() string {
	uid := uint32(os.Getuid())
	s := fmt.Sprintf("user %s (uid %d), groups %s", userName(uid), uid, groupName(uint32(os.Getgid())))
	groups, _ := os.Getgroups()
	for _, g := range groups {
		if uint32(g) != uint32(os.Getgid()) {
			s += ", " + groupName(uint32(g))
		}
	}
	return s
}

func userName(uid uint32) string {
	if u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10)); err == nil {
		return u.Username
	}
	return strconv.FormatUint(uint64(uid), 10)
}

func groupName(gid uint32) string {
	if g, err := user.LookupGroupId(strconv.FormatUint(uint64(gid), 10)); err == nil {
		return g.Name
	}
	return strconv.FormatUint(uint64(gid), 10)
}

// Owner is path's owner, group and mode: "root:adm 0640"; "" when it
// cannot be read.
func Owner(path string) string {
	st := statOwner(path)
	if st == nil {
		return ""
	}
	return fmt.Sprintf("%s:%s %04o", userName(st.Uid), groupName(st.Gid), st.Mode&0o7777)
}
