package webapps

import (
	"os/user"
	"strconv"
	"sync"
)

// Users caches uid-to-name lookups: a scan of 100,000 sites owned by a few
// hundred accounts looks each up once.
type Users struct {
	mu    sync.Mutex
	names map[int]string
}

// NewUsers returns an empty cache.
func NewUsers() *Users { return &Users{names: map[int]string{}} }

// Name is the account name of uid, or the number when it has none.
func (u *Users) Name(uid int) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	if n, ok := u.names[uid]; ok {
		return n
	}
	n := strconv.Itoa(uid)
	if usr, err := user.LookupId(n); err == nil {
		n = usr.Username
	}
	if len(u.names) < 100_000 {
		u.names[uid] = n
	}
	return n
}
