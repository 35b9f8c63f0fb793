package policy

import (
	"time"

	"github.com/vigie/vigie/internal/store"
)

// With a shared store (PostgreSQL, several nodes), each node counts its
// own messages in its rings as always, and every SyncInterval writes the
// slots that changed to the store and reads the slots the other nodes
// wrote. A decision compares the limit with its own count plus the other
// nodes' last read counts. The overshoot across nodes is therefore
// bounded by what the account sent through the other nodes in the last
// two sync periods plus the database round trips, and by (nodes-1) times
// the limit. An account passing another eighth of a limit makes the node
// exchange at once, which shrinks the overshoot of an account sending
// steadily through every node to what it sends in a round trip or two.

// total returns what window i of c holds at t (Unix nanoseconds): this
// node's messages and those the other nodes wrote to the shared store.
func (c *counter) total(i int, t int64) (msgs, rcpts uint64) {
	r := c.rings[i]
	r.advance(t)
	msgs, rcpts = r.totalMsgs, r.totalRcpts
	for _, o := range c.others {
		o[i].advance(t)
		msgs += o[i].totalMsgs
		rcpts += o[i].totalRcpts
	}
	return msgs, rcpts
}

// set puts the absolute count of slot (an absolute slot number) into the
// ring, moving the ring forward if the slot is newer than its head;
// slots that already left the window are ignored.
func (r *ring) set(slot int64, msgs, rcpts uint32) {
	if slot > r.head {
		r.advance(slot * r.width)
	}
	if slot <= r.head-slots {
		return
	}
	i := slot % slots
	r.totalMsgs += uint64(msgs) - uint64(r.msgs[i])
	r.totalRcpts += uint64(rcpts) - uint64(r.rcpts[i])
	r.msgs[i], r.rcpts[i] = msgs, rcpts
}

// crossesStep says whether adding n to count crosses an eighth of limit
// (a multiple of limit/8): the moments an account is worth sharing at
// once. Each account crosses at most 8 of them per window per node, so a
// busy node asks for few early exchanges, while an account blasting
// through every node is shared every eighth of its limit, within a
// database round trip, instead of every sync period.
func crossesStep(count, n uint64, limit int) bool {
	if limit <= 0 {
		return false
	}
	step := max(uint64(limit)/8, 1)
	return (count+n)/step > count/step
}

// share switches the limiter to shared mode: changed counters are then
// remembered for pendingSlots.
func (l *Limiter) share() {
	l.hot = make(chan struct{}, 1)
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		sh.push = map[string]*counter{}
		sh.urgent = map[string]*counter{}
		sh.mu.Unlock()
	}
}

// pushed is what a successful write of pendingSlots commits.
type pushed struct {
	key  string
	c    *counter
	head []int64
}

// maxPush bounds the slots written by one exchange: after an outage or
// under heavy load the backlog is written over several exchanges, each
// quick enough to finish, instead of one that times out and grows.
const maxPush = 4096

// pendingSlots returns this node's slots changed since the last
// successful write (about maxPush of them at most; the rest stay for the
// next exchange), and what to commit once they are written. The accounts
// that just passed another eighth of a limit come first, then the others
// from a shard that turns each time, so none waits behind a backlog. Only
// non-empty slots are written: a slot's count never goes back to zero,
// it leaves the window.
func (l *Limiter) pendingSlots(node string) ([]store.CountSlot, []pushed) {
	var out []store.CountSlot
	var done []pushed
	take := func(sh *shard, key string, c *counter) {
		p := pushed{key: key, c: c, head: make([]int64, len(c.rings))}
		for j, r := range c.rings {
			from := max(c.pushed[j], r.head-slots+1)
			for s := from; s <= r.head; s++ {
				k := s % slots
				if r.msgs[k] == 0 && r.rcpts[k] == 0 {
					continue
				}
				out = append(out, store.CountSlot{Node: node, Subject: key, Window: r.window, Slot: s,
					Messages: r.msgs[k], Recipients: r.rcpts[k], Expires: time.Unix(0, (s+slots+1)*r.width)})
			}
			p.head[j] = r.head
		}
		done = append(done, p)
		delete(sh.push, key)
		delete(sh.urgent, key)
	}
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		for key, c := range sh.urgent {
			take(sh, key, c)
		}
		sh.mu.Unlock()
	}
	start := l.pushFrom
	l.pushFrom = (l.pushFrom + 1) % shardCount
	for n := 0; n < shardCount && len(out) < maxPush; n++ {
		sh := &l.shards[(start+n)%shardCount]
		sh.mu.Lock()
		for key, c := range sh.push {
			if len(out) >= maxPush {
				break
			}
			take(sh, key, c)
		}
		sh.mu.Unlock()
	}
	return out, done
}

// commitPushed records the heads written; after a failed write, failed
// puts the counters back to be written again.
func (l *Limiter) commitPushed(done []pushed, failed bool) {
	for _, p := range done {
		sh := &l.shards[shardOf(p.key)]
		sh.mu.Lock()
		if failed {
			if sh.m[p.key] == p.c {
				sh.push[p.key] = p.c
			}
		} else {
			for j, h := range p.head {
				p.c.pushed[j] = max(p.c.pushed[j], h)
			}
		}
		sh.mu.Unlock()
	}
}

// applySlots loads slots read from the shared store: the other nodes'
// into their rings, this node's own (at start, after a restart) into its
// own rings. Slots of a window this node's limits do not have (the nodes'
// configs differ) are ignored.
func (l *Limiter) applySlots(self string, in []store.CountSlot) {
	for _, s := range in {
		key := s.Subject
		sh := &l.shards[shardOf(key)]
		sh.mu.Lock()
		c := sh.m[key]
		if c == nil {
			if l.subjects.Load() >= l.maxSubjects {
				sh.mu.Unlock()
				continue
			}
			c = l.newCounter(key)
			sh.m[key] = c
			l.subjects.Add(1)
		}
		for i, r := range c.rings {
			if r.window != s.Window {
				continue
			}
			if s.Node == self {
				r.set(s.Slot, s.Messages, s.Recipients)
				c.pushed[i] = max(c.pushed[i], s.Slot)
			} else {
				if c.others == nil {
					c.others = map[string][]*ring{}
				}
				o := c.others[s.Node]
				if o == nil {
					o = make([]*ring, len(c.rings))
					for j, rr := range c.rings {
						o[j] = newRing(rr.window)
					}
					c.others[s.Node] = o
				}
				o[i].set(s.Slot, s.Messages, s.Recipients)
			}
			// a subject busy on other nodes is not idle here
			c.last = max(c.last, s.Slot*r.width)
		}
		sh.mu.Unlock()
	}
}

// prune drops the subjects idle for longer than all their windows, on
// every node (in shared mode the snapshot, which does it otherwise, is
// not taken).
func (l *Limiter) prune(now time.Time) {
	t := now.UnixNano()
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		for k, c := range sh.m {
			if idle(c, t) {
				delete(sh.m, k)
				delete(sh.push, k)
				delete(sh.urgent, k)
				l.subjects.Add(-1)
			}
		}
		sh.mu.Unlock()
	}
}
