package policy

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/mail/subject"
)

// Limits resolves which windows apply to a subject: its own override, else
// its domain's, else the defaults.
type Limits struct {
	Default  []config.Limit
	Accounts map[string][]config.Limit // keys lower-cased
	Domains  map[string][]config.Limit // keys lower-cased
}

// NewLimits lower-cases the override keys of the config.
func NewLimits(p *config.Policy) Limits {
	l := Limits{Default: p.Limits, Accounts: map[string][]config.Limit{}, Domains: map[string][]config.Limit{}}
	for k, v := range p.Accounts {
		l.Accounts[strings.ToLower(k)] = v
	}
	for k, v := range p.Domains {
		l.Domains[strings.ToLower(k)] = v
	}
	return l
}

// For returns the limits of name (an account, a sender or a client
// address, lower-cased).
func (l *Limits) For(name string) []config.Limit {
	if ls, ok := l.Accounts[name]; ok {
		return ls
	}
	if i := strings.LastIndexByte(name, '@'); i >= 0 {
		if ls, ok := l.Domains[name[i+1:]]; ok {
			return ls
		}
	}
	return l.Default
}

const shardCount = 64

// Limiter keeps the sliding windows of every subject, in shards so that
// concurrent decisions rarely wait for each other.
type Limiter struct {
	limits Limits
	shards [shardCount]shard
	// subjects counts the counters held, to bound memory: a hijacked web
	// application can forge a new sender address for every message.
	subjects    atomic.Int64
	maxSubjects int64
	// hot asks the shared-store exchange to run now (nil: not shared)
	hot chan struct{}
	// pushFrom is the shard pendingSlots starts at, turning so that a
	// backlog larger than one exchange is written fairly
	pushFrom int
}

// MaxSubjects bounds how many subjects have their own windows (about
// 1.5 KB each with the default limits). Past it a new subject is let
// through uncounted (fail-open) and counted in
// vigie_policy_fail_open_total{reason="subjects-cap"}, never refused:
// subjects are SASL users, uids and clients (forged envelope senders no
// longer make new ones), so the cap is a memory bound that real traffic
// does not reach, and idle subjects leave within their longest window.
const MaxSubjects = 200_000

type shard struct {
	mu    sync.Mutex
	m     map[string]*counter
	dirty bool
	// push: the counters changed since their slots were last written to
	// a shared store (nil when the store is not shared)
	push map[string]*counter
	// urgent: those of push that passed another eighth of a limit,
	// written first
	urgent map[string]*counter
}

// A counter is one subject's windows, one ring per limit.
type counter struct {
	limits []config.Limit
	rings  []*ring
	last   int64 // Unix nanoseconds of the last message
	// With a shared store: the other nodes' rings, by node, parallel to
	// rings, and the newest slot of each ring already written.
	others map[string][]*ring
	pushed []int64
}

// NewLimiter returns an empty limiter.
func NewLimiter(l Limits) *Limiter {
	lim := &Limiter{limits: l, maxSubjects: MaxSubjects}
	for i := range lim.shards {
		lim.shards[i].m = map[string]*counter{}
	}
	return lim
}

// shardOf hashes key with FNV-1a: stable across restarts, so a shard's
// persisted record holds the same subjects each time.
func shardOf(key string) int {
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h ^= uint32(key[i])
		h *= 16777619
	}
	return int(h % shardCount)
}

// newCounter makes the windows of key, a subject's string form
// (subject.String): a SASL user's limits are looked up by its name, the
// other kinds' by their string form ("uid:33", "client:127.0.0.1").
func (l *Limiter) newCounter(key string) *counter {
	name := key
	if subj, err := subject.Parse(key); err == nil && subj.Kind == subject.KindSASL {
		name = strings.ToLower(subj.User)
	}
	ls := l.limits.For(name)
	c := &counter{limits: ls, rings: make([]*ring, len(ls)), pushed: make([]int64, len(ls))}
	for i, lim := range ls {
		c.rings[i] = newRing(lim.Window)
	}
	return c
}

// A Verdict says whether a message fits its subject's limits.
type Verdict struct {
	Over   bool
	Limit  config.Limit // the limit it would break
	What   string       // "messages" or "recipients"
	Count  uint64       // what the window already holds
	Locked bool         // false: the shard was busy past the deadline, nothing decided
	// Uncounted: a new subject past MaxSubjects, let through (fail-open)
	Uncounted bool
}

// Take checks a message of rcpts recipients for key at now and, if it fits
// every window, counts it. It waits for the shard at most until deadline
// (Unix nanoseconds, 0: no deadline). A new subject past MaxSubjects is
// not counted: Verdict.Uncounted.
func (l *Limiter) Take(key string, rcpts int, now time.Time, deadline int64) Verdict {
	if rcpts < 1 {
		rcpts = 1
	}
	sh := &l.shards[shardOf(key)]
	if !lockBy(&sh.mu, deadline) {
		return Verdict{}
	}
	defer sh.mu.Unlock()
	c := sh.m[key]
	if c == nil && l.subjects.Load() >= l.maxSubjects {
		return Verdict{Locked: true, Uncounted: true}
	}
	if c == nil {
		c = l.newCounter(key)
		sh.m[key] = c
		l.subjects.Add(1)
	}
	t := now.UnixNano()
	hot := false
	for i := range c.rings {
		msgs, rcptsIn := c.total(i, t)
		lim := c.limits[i]
		if lim.Messages > 0 && msgs+1 > uint64(lim.Messages) {
			return Verdict{Over: true, Limit: lim, What: "messages", Count: msgs, Locked: true}
		}
		if lim.Recipients > 0 && rcptsIn+uint64(rcpts) > uint64(lim.Recipients) {
			return Verdict{Over: true, Limit: lim, What: "recipients", Count: rcptsIn, Locked: true}
		}
		hot = hot || crossesStep(msgs, 1, lim.Messages) || crossesStep(rcptsIn, uint64(rcpts), lim.Recipients)
	}
	if hot && sh.urgent != nil {
		sh.urgent[key] = c
	}
	if hot && l.hot != nil {
		// another eighth of its limit: share it now, not at the next tick
		select {
		case l.hot <- struct{}{}:
		default:
		}
	}
	for _, r := range c.rings {
		r.add(1, uint32(rcpts))
	}
	c.last = t
	sh.dirty = true
	if sh.push != nil {
		sh.push[key] = c
	}
	return Verdict{Locked: true}
}

// lockBy takes mu, giving up at deadline. Decisions hold a shard lock for
// well under a microsecond, so waiting long means something is wrong: the
// caller then answers DUNNO rather than stall Postfix.
func lockBy(mu *sync.Mutex, deadline int64) bool {
	if mu.TryLock() {
		return true
	}
	if deadline == 0 {
		mu.Lock()
		return true
	}
	for i := 0; ; i++ {
		if mu.TryLock() {
			return true
		}
		if i%16 == 15 && time.Now().UnixNano() > deadline {
			return false
		}
		runtime.Gosched()
	}
}

// Usage is what one window of a subject holds.
type Usage struct {
	Window     time.Duration
	Messages   uint64
	Recipients uint64
}

// Usage returns key's windows at now (nil if it sent nothing recently).
func (l *Limiter) Usage(key string, now time.Time) []Usage {
	sh := &l.shards[shardOf(key)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	c := sh.m[key]
	if c == nil {
		return nil
	}
	out := make([]Usage, len(c.rings))
	for i, r := range c.rings {
		m, rc := c.total(i, now.UnixNano())
		out[i] = Usage{Window: r.window, Messages: m, Recipients: rc}
	}
	return out
}

// shardState is one shard as persisted: subject key -> its rings.
type shardState map[string]counterState

type counterState struct {
	Last  int64       `json:"l"`
	Rings []ringState `json:"r"`
}

// snapshot returns the persisted form of every shard changed since the
// last snapshot, dropping subjects idle for longer than all their windows.
// The shard lock is held only to copy.
func (l *Limiter) snapshot(now time.Time, all bool) map[int][]byte {
	out := map[int][]byte{}
	t := now.UnixNano()
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		for k, c := range sh.m {
			if idle(c, t) {
				delete(sh.m, k)
				l.subjects.Add(-1)
				sh.dirty = true
			}
		}
		if !sh.dirty && !all {
			sh.mu.Unlock()
			continue
		}
		st := make(shardState, len(sh.m))
		for k, c := range sh.m {
			cs := counterState{Last: c.last, Rings: make([]ringState, len(c.rings))}
			for j, r := range c.rings {
				cs.Rings[j] = r.state()
			}
			st[k] = cs
		}
		sh.dirty = false
		sh.mu.Unlock()
		b, err := json.Marshal(st)
		if err != nil {
			continue // cannot happen with these types
		}
		out[i] = b
	}
	return out
}

// markDirty makes the next snapshot write shard i again (its write failed).
func (l *Limiter) markDirty(i int) {
	sh := &l.shards[i]
	sh.mu.Lock()
	sh.dirty = true
	sh.mu.Unlock()
}

func idle(c *counter, now int64) bool {
	var longest time.Duration
	for _, lim := range c.limits {
		longest = max(longest, lim.Window)
	}
	return now-c.last > int64(longest)
}

// restore loads one persisted shard. Subjects whose limits changed keep
// the windows that still exist.
func (l *Limiter) restore(data []byte) error {
	var st shardState
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("damaged counters record: %w", err)
	}
	for k, cs := range st {
		c := l.newCounter(k)
		c.last = cs.Last
		for _, r := range c.rings {
			for _, rs := range cs.Rings {
				if r.restore(rs) {
					break
				}
			}
		}
		sh := &l.shards[shardOf(k)]
		sh.mu.Lock()
		if _, ok := sh.m[k]; !ok {
			l.subjects.Add(1)
		}
		sh.m[k] = c
		sh.mu.Unlock()
	}
	return nil
}
