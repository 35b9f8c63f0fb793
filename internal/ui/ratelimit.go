package ui

import (
	"sync"
	"time"
)

// limiter counts failed logins per key (the client address, the user
// name): after max failures within window the key is locked for window.
// Checked before the password is hashed, so a locked attacker costs no
// argon2 work.
type limiter struct {
	mu      sync.Mutex
	now     func() time.Time
	max     int
	window  time.Duration
	entries map[string]*attempts
}

type attempts struct {
	fails       int
	first       time.Time
	lockedUntil time.Time
}

// maxLimiterEntries bounds memory under a distributed guessing attack;
// when full, new keys wait (refused) until old ones expire: the login is
// unavailable rather than unlimited.
const maxLimiterEntries = 100000

func newLimiter(max int, window time.Duration, now func() time.Time) *limiter {
	return &limiter{now: now, max: max, window: window, entries: map[string]*attempts{}}
}

// wait returns how long key must wait before trying again (0: it may).
func (l *limiter) wait(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	a := l.entries[key]
	if a == nil {
		if len(l.entries) >= maxLimiterEntries {
			l.pruneLocked(now)
			if len(l.entries) >= maxLimiterEntries {
				return l.window
			}
		}
		return 0
	}
	if now.Before(a.lockedUntil) {
		return a.lockedUntil.Sub(now)
	}
	return 0
}

func (l *limiter) fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	a := l.entries[key]
	if a == nil || now.Sub(a.first) > l.window {
		if a == nil && len(l.entries) >= maxLimiterEntries {
			return
		}
		a = &attempts{first: now}
		l.entries[key] = a
	}
	a.fails++
	if a.fails >= l.max {
		a.lockedUntil = now.Add(l.window)
	}
}

func (l *limiter) success(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.entries, key)
}

func (l *limiter) pruneLocked(now time.Time) {
	for k, a := range l.entries {
		if now.Sub(a.first) > l.window && !now.Before(a.lockedUntil) {
			delete(l.entries, k)
		}
	}
}
