package mail

import (
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vigie/vigie/internal/mail/postfixlog"
	"github.com/vigie/vigie/internal/mail/subject"
)

// Origin is who put a message in the queue, as far as the log and the
// queue tell.
type Origin struct {
	QueueID  string
	SASLUser string // the smtpd client= line; empty when not authenticated
	UID      int    // pickup (sendmail); -1 when the message came over SMTP
	ClientIP string
	Sender   string // envelope sender (qmgr from=, or postqueue -j)
	Arrived  time.Time
	Nrcpt    int
	// InQueue: the message is still queued (no "removed" seen yet).
	InQueue  bool
	Deferred bool
	// Trusted: the client is in mynetworks (or loopback) and did not
	// authenticate: Postfix relays its mail anywhere, so it is a sender
	// of ours, keyed by its address.
	Trusted bool
}

// Subject is the sender this message is counted to: the SASL user (also
// when a webmail submits from 127.0.0.1), else the local uid, else the
// trusted unauthenticated client by its address; the zero Subject for
// mail from the outside. Every message also counts to subject.Server().
func (o *Origin) Subject() subject.Subject {
	switch {
	case o.SASLUser != "":
		return subject.SASL(o.SASLUser)
	case o.UID >= 0:
		return subject.UID(o.UID)
	case o.Trusted:
		if a, err := netip.ParseAddr(o.ClientIP); err == nil {
			return subject.Client(a)
		}
	}
	return subject.Subject{}
}

// Account is the string form of Subject ("" for mail from the outside).
func (o *Origin) Account() string { return o.Subject().String() }

// message is the tracker's record of one queue id.
type message struct {
	Origin
	counted bool // the volume rule has counted it (qmgr logs from= at every retry)
	fromLog bool // seen in the log (else only in postqueue -j)
}

// Index answers which queued messages belong to a SASL user, an envelope
// sender or a local uid, and who sent a given queue id. It is built from
// the log (the SASL user is only on the smtpd line, the uid only on the
// pickup line) and completed by postqueue -j (mail queued before vigie
// started). It is safe for concurrent use: the policy server reads it
// while the watch writes it.
type Index struct {
	mu     sync.RWMutex
	msgs   map[string]*message
	byAcct map[string]map[string]struct{} // account subject -> queue ids
	bySndr map[string]map[string]struct{} // envelope sender (lower case) -> queue ids
	// MaxAge drops records the log never said were removed (a log read
	// from the middle): Postfix gives up on a message after 5 days.
	maxAge time.Duration
	max    int
	// trusted are the networks whose unauthenticated clients are ours
	// (Postfix's mynetworks); loopback always is.
	trusted []netip.Prefix
}

// SetTrusted sets the networks whose unauthenticated SMTP clients are
// senders of ours (Postfix's mynetworks). Loopback always is.
func (x *Index) SetTrusted(p []netip.Prefix) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.trusted = append([]netip.Prefix(nil), p...)
}

// isTrusted reports whether ip (as Postfix logs it) is loopback or in
// the trusted networks.
func (x *Index) isTrusted(ip string) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap()
	if a.IsLoopback() {
		return true
	}
	for _, p := range x.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{msgs: map[string]*message{}, byAcct: map[string]map[string]struct{}{},
		bySndr: map[string]map[string]struct{}{}, maxAge: 7 * 24 * time.Hour, max: 2_000_000}
}

func addTo(m map[string]map[string]struct{}, key, qid string) {
	if key == "" {
		return
	}
	s := m[key]
	if s == nil {
		s = map[string]struct{}{}
		m[key] = s
	}
	s[qid] = struct{}{}
}

func delFrom(m map[string]map[string]struct{}, key, qid string) {
	if s := m[key]; s != nil {
		delete(s, qid)
		if len(s) == 0 {
			delete(m, key)
		}
	}
}

// get returns the record of qid, creating it (with a copy of the id: the
// parser's strings point into the line) when create is set.
func (x *Index) get(qid string, at time.Time, create bool) *message {
	m := x.msgs[qid]
	if m == nil && create {
		qid = strings.Clone(qid)
		m = &message{Origin: Origin{QueueID: qid, UID: -1, Arrived: at, InQueue: true}, fromLog: true}
		x.msgs[qid] = m
	}
	return m
}

// observe folds one log entry into the index and returns the message's
// record (nil for lines without a known queue id).
func (x *Index) observe(e *postfixlog.Entry) *message {
	if e.QueueID == "" {
		return nil
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	switch e.Kind {
	case postfixlog.KindClient:
		m := x.get(e.QueueID, e.Time, true)
		before := m.Account()
		m.ClientIP = strings.Clone(e.ClientIP)
		if e.SASLUser != "" && m.SASLUser == "" {
			m.SASLUser = strings.Clone(e.SASLUser)
		}
		m.Trusted = m.SASLUser == "" && x.isTrusted(m.ClientIP)
		if after := m.Account(); after != before {
			delFrom(x.byAcct, before, m.QueueID)
			addTo(x.byAcct, after, m.QueueID)
		}
		return m
	case postfixlog.KindPickup:
		m := x.get(e.QueueID, e.Time, true)
		if e.UID >= 0 && m.UID < 0 {
			m.UID = e.UID
			addTo(x.byAcct, m.Account(), m.QueueID)
		}
		return m
	case postfixlog.KindQueued:
		m := x.get(e.QueueID, e.Time, true)
		if m.Sender == "" && e.Sender != "" {
			m.Sender = strings.Clone(e.Sender)
			addTo(x.bySndr, strings.ToLower(m.Sender), m.QueueID)
		}
		m.Nrcpt = e.Nrcpt
		return m
	case postfixlog.KindHold:
		// The hold line names the envelope sender; nrcpt is known only
		// when qmgr reads the message at its release.
		m := x.get(e.QueueID, e.Time, true)
		if m.Sender == "" && e.Sender != "" {
			m.Sender = strings.Clone(e.Sender)
			addTo(x.bySndr, strings.ToLower(m.Sender), m.QueueID)
		}
		return m
	case postfixlog.KindDelivery:
		m := x.get(e.QueueID, e.Time, false)
		if m != nil {
			m.Deferred = e.Status == "deferred"
		}
		return m
	case postfixlog.KindRemoved, postfixlog.KindReject:
		// A message refused by cleanup (header or body checks, milter)
		// is never queued and gets no "removed" line.
		m := x.msgs[e.QueueID]
		if m != nil {
			x.remove(m)
		}
		return m
	default:
		return x.get(e.QueueID, e.Time, false)
	}
}

func (x *Index) remove(m *message) {
	m.InQueue = false
	delete(x.msgs, m.QueueID)
	if a := m.Account(); a != "" {
		delFrom(x.byAcct, a, m.QueueID)
	}
	if m.Sender != "" {
		delFrom(x.bySndr, strings.ToLower(m.Sender), m.QueueID)
	}
}

// prune drops records older than the maximum age, and the oldest ones
// beyond the maximum count. It returns how many it dropped.
func (x *Index) prune(now time.Time) int {
	x.mu.Lock()
	defer x.mu.Unlock()
	n := 0
	for _, m := range x.msgs {
		if m.fromLog && now.Sub(m.Arrived) > x.maxAge {
			x.remove(m)
			n++
		}
	}
	if over := len(x.msgs) - x.max; over > 0 {
		all := make([]*message, 0, len(x.msgs))
		for _, m := range x.msgs {
			all = append(all, m)
		}
		sort.Slice(all, func(i, j int) bool { return all[i].Arrived.Before(all[j].Arrived) })
		for _, m := range all[:over] {
			x.remove(m)
			n++
		}
	}
	return n
}

// counts returns the messages in the queue and those deferred, as the log
// tells.
func (x *Index) counts() (queued, deferred int) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	for _, m := range x.msgs {
		if !m.counted && m.fromLog {
			continue // seen by smtpd but never queued (refused at DATA, or not yet)
		}
		queued++
		if m.Deferred {
			deferred++
		}
	}
	return queued, deferred
}

func (x *Index) ids(set map[string]struct{}) []string {
	out := make([]string, 0, len(set))
	for id := range set {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// QueueIDsOfAccount returns the queued messages of a SASL user, or of a
// local uid when account is "uid:N" (see UIDSubject).
func (x *Index) QueueIDsOfAccount(account string) []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.ids(x.byAcct[account])
}

// QueueIDsOfSubject returns the queued messages counted to s (none for
// the whole server: use the queue itself).
func (x *Index) QueueIDsOfSubject(s subject.Subject) []string {
	return x.QueueIDsOfAccount(s.Key().String())
}

// QueueIDsOfUID returns the queued messages a local user injected.
func (x *Index) QueueIDsOfUID(uid int) []string { return x.QueueIDsOfAccount(UIDSubject(uid)) }

// QueueIDsOfSender returns the queued messages with this envelope sender
// (compared without case).
func (x *Index) QueueIDsOfSender(sender string) []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.ids(x.bySndr[strings.ToLower(sender)])
}

// Lookup returns who sent queue id qid.
func (x *Index) Lookup(qid string) (Origin, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	m := x.msgs[qid]
	if m == nil {
		return Origin{}, false
	}
	return m.Origin, true
}

// Len is the number of messages the index holds.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.msgs)
}

// syncQueue completes the index with a postqueue -j snapshot: messages
// queued before the log was read get their sender; messages known only
// from an earlier snapshot and now gone are dropped.
func (x *Index) syncQueue(items []QueueItem, at time.Time) {
	x.mu.Lock()
	defer x.mu.Unlock()
	seen := make(map[string]struct{}, len(items))
	for i := range items {
		it := &items[i]
		seen[it.QueueID] = struct{}{}
		m := x.msgs[it.QueueID]
		if m == nil {
			m = &message{Origin: Origin{QueueID: it.QueueID, UID: -1, Arrived: it.Arrival, InQueue: true}}
			x.msgs[it.QueueID] = m
		}
		if m.Sender == "" && it.Sender != "" {
			m.Sender = it.Sender
			addTo(x.bySndr, strings.ToLower(m.Sender), m.QueueID)
		}
		m.Deferred = it.Queue == "deferred"
	}
	for id, m := range x.msgs {
		if _, ok := seen[id]; !ok && !m.fromLog {
			x.remove(m)
		}
	}
}
