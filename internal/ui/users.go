package ui

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/vigie/vigie/internal/store"
)

// Users are kept in the store's key/value space (watch "ui", key
// "user:NAME"), so `vigie user add` and the daemon share them without a
// schema change and a second node sharing the store sees the same users.
const (
	stateSpace = "ui"
	userPrefix = "user:"
)

// User is a dashboard account.
type User struct {
	Name string `json:"name"`
	// Hash is the argon2id hash in the PHC string format.
	Hash string `json:"hash"`
	// TOTPSecret is base32; a user without one cannot log in.
	TOTPSecret string `json:"totp_secret"`
	// LastTOTPStep is the last accepted TOTP step: codes at or before it
	// are refused (replay).
	LastTOTPStep uint64    `json:"last_totp_step"`
	Created      time.Time `json:"created"`
	Changed      time.Time `json:"changed"`
}

// ErrNoUser is returned for a user name that is not an account.
var ErrNoUser = errors.New("no such user")

var userName = regexp.MustCompile(`^[a-z0-9][a-z0-9._@-]{0,63}$`)

// Users manages the accounts in a store.
type Users struct {
	// mu makes the TOTP step check-and-set atomic within this process, so
	// two logins racing with one code cannot both pass.
	mu    sync.Mutex
	Store store.State
	Now   func() time.Time
	// Params are the argon2id costs (default DefaultArgon2).
	Params Argon2Params
}

// Argon2Params are the argon2id costs stored with each hash.
type Argon2Params struct {
	Time    uint32
	Memory  uint32 // KiB
	Threads uint8
}

// DefaultArgon2 is OWASP's first argon2id option (46 MiB, one pass, one
// lane): on a small 2-core server under attack a login must stay well
// under a second, and the login rate limit bounds online guessing anyway.
// Hashes keep their own parameters, so raising these later re-hashes
// nothing and breaks no login.
var DefaultArgon2 = Argon2Params{Time: 1, Memory: 46 * 1024, Threads: 1}

func (u *Users) now() time.Time {
	if u.Now == nil {
		return time.Now()
	}
	return u.Now()
}

// Get returns the user name, or ErrNoUser.
func (u *Users) Get(ctx context.Context, name string) (User, error) {
	b, err := u.Store.GetState(ctx, stateSpace, userPrefix+name)
	if errors.Is(err, store.ErrNotFound) {
		return User{}, ErrNoUser
	}
	if err != nil {
		return User{}, err
	}
	var out User
	if err := json.Unmarshal(b, &out); err != nil {
		return User{}, fmt.Errorf("user %s: stored record is damaged: %w", name, err)
	}
	return out, nil
}

func (u *Users) put(ctx context.Context, usr User) error {
	b, err := json.Marshal(usr)
	if err != nil {
		return err
	}
	return u.Store.PutState(ctx, stateSpace, userPrefix+usr.Name, b)
}

// Add creates a user with a password and a new TOTP secret, which it
// returns for the user's authenticator app.
func (u *Users) Add(ctx context.Context, name, password string) (User, error) {
	if !userName.MatchString(name) {
		return User{}, fmt.Errorf("user name %q: use 1 to 64 lower-case letters, digits, '.', '_', '@' or '-'", name)
	}
	if _, err := u.Get(ctx, name); err == nil {
		return User{}, fmt.Errorf("user %s already exists; change the password with 'vigie user passwd %s'", name, name)
	} else if !errors.Is(err, ErrNoUser) {
		return User{}, err
	}
	h, err := u.hash(password)
	if err != nil {
		return User{}, err
	}
	now := u.now().UTC()
	usr := User{Name: name, Hash: h, TOTPSecret: NewTOTPSecret(), Created: now, Changed: now}
	return usr, u.put(ctx, usr)
}

// SetPassword replaces a user's password.
func (u *Users) SetPassword(ctx context.Context, name, password string) error {
	usr, err := u.Get(ctx, name)
	if err != nil {
		return err
	}
	if usr.Hash, err = u.hash(password); err != nil {
		return err
	}
	usr.Changed = u.now().UTC()
	return u.put(ctx, usr)
}

// ResetTOTP gives a user a new TOTP secret and returns it.
func (u *Users) ResetTOTP(ctx context.Context, name string) (User, error) {
	usr, err := u.Get(ctx, name)
	if err != nil {
		return usr, err
	}
	usr.TOTPSecret, usr.LastTOTPStep, usr.Changed = NewTOTPSecret(), 0, u.now().UTC()
	return usr, u.put(ctx, usr)
}

// useTOTPStep records step as used; false if it was already (a replay
// racing the first use).
func (u *Users) useTOTPStep(ctx context.Context, name string, step uint64) (bool, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	usr, err := u.Get(ctx, name)
	if err != nil {
		return false, err
	}
	if step <= usr.LastTOTPStep {
		return false, nil
	}
	usr.LastTOTPStep = step
	return true, u.put(ctx, usr)
}

// minPassword is long enough to resist online guessing behind the rate
// limit and offline guessing behind argon2id for a while.
const minPassword = 12

func (u *Users) hash(password string) (string, error) {
	if len(password) < minPassword {
		return "", fmt.Errorf("password too short: use at least %d characters", minPassword)
	}
	p := u.Params
	if p.Time == 0 {
		p = DefaultArgon2
	}
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, 32)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// checkPassword compares password with a PHC argon2id hash.
func checkPassword(phc, password string) bool {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return false
	}
	var p Argon2Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return false
	}
	if p.Memory > 1<<22 || p.Time > 64 || p.Threads == 0 { // a damaged record must not exhaust the machine
		return false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	want, err2 := enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is checked when the user does not exist, so that the answer
// takes as long and does not tell which user names are accounts.
var dummyHash = "$argon2id$v=19$m=47104,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
