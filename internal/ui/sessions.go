package ui

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"time"
)

// sessions are kept in memory: a restart logs everyone out, which is the
// safe side for an admin interface. Only a hash of each token is kept, so
// a memory dump does not hand out live cookies.
type sessions struct {
	mu       sync.Mutex
	byHash   map[[32]byte]*session
	lifetime time.Duration
	now      func() time.Time
}

type session struct {
	user    string
	csrf    string
	expires time.Time
}

// maxSessions bounds memory whatever happens; the oldest expire first.
const maxSessions = 10000

func newSessions(lifetime time.Duration, now func() time.Time) *sessions {
	return &sessions{byHash: map[[32]byte]*session{}, lifetime: lifetime, now: now}
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session for user and returns its cookie token.
func (s *sessions) create(user string) (string, *session) {
	tok := randomToken()
	ss := &session{user: user, csrf: randomToken(), expires: s.now().Add(s.lifetime)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.byHash) >= maxSessions {
		s.pruneLocked()
	}
	s.byHash[sha256.Sum256([]byte(tok))] = ss
	return tok, ss
}

func (s *sessions) get(tok string) *session {
	if tok == "" {
		return nil
	}
	h := sha256.Sum256([]byte(tok))
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.byHash[h]
	if ss == nil {
		return nil
	}
	if !s.now().Before(ss.expires) {
		delete(s.byHash, h)
		return nil
	}
	return ss
}

func (s *sessions) delete(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byHash, sha256.Sum256([]byte(tok)))
}

// pruneLocked drops expired sessions, and if that is not enough the ones
// closest to expiry.
func (s *sessions) pruneLocked() {
	now := s.now()
	var oldest [32]byte
	var oldestExp time.Time
	for h, ss := range s.byHash {
		if !now.Before(ss.expires) {
			delete(s.byHash, h)
			continue
		}
		if oldestExp.IsZero() || ss.expires.Before(oldestExp) {
			oldest, oldestExp = h, ss.expires
		}
	}
	if len(s.byHash) >= maxSessions {
		delete(s.byHash, oldest)
	}
}
