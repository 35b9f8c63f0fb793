package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// An Attempt is the outcome of one try at delivering one message, handed
// to DispatchOptions.Record so that the incident timelines say what
// happened.
type Attempt struct {
	Notifier string
	Message  *Message
	Number   int   // 1 for the first try
	Err      error // nil: delivered
	// Retry is the wait before the next try; zero when the message was
	// delivered or given up.
	Retry  time.Duration
	GaveUp bool
}

// DispatchOptions tune a Dispatcher. Zero values take the defaults shown.
type DispatchOptions struct {
	// GroupWait is how long the first notification waits for others to
	// join its message (5s).
	GroupWait time.Duration
	// MinInterval is the least time between two messages: the rate limit
	// (1m). What arrives meanwhile goes out together.
	MinInterval time.Duration
	// Backoff is the wait after the first failure, doubled after each
	// further one up to MaxBackoff (2s, 5m). A receiver's Retry-After wins
	// when it is longer.
	Backoff, MaxBackoff time.Duration
	// Timeout bounds one try (10s).
	Timeout time.Duration
	// MaxAttempts gives up on a message after this many tries; 0 retries
	// until it is delivered, so nothing is lost to a receiver that is down
	// for a while (the notifications wait in the outbox, across restarts).
	MaxAttempts int
	// QueueSize bounds the notifications waiting in memory when there is
	// no Outbox (10000); MaxBatch bounds one message (1000).
	QueueSize, MaxBatch int
	// Outbox is where notifications wait until delivered; nil: in memory
	// (fed by Enqueue). With an Outbox, whoever writes to it calls Wake.
	Outbox Outbox
	// IDPrefix starts message ids (default: random, so that ids never
	// repeat across restarts; Matrix transaction ids must not).
	IDPrefix string
	Now      func() time.Time
	Logger   *slog.Logger
	// Record is called after every try, on the dispatcher's goroutine.
	Record func(ctx context.Context, a Attempt)
}

// A Dispatcher owns the delivery of one notifier: its own goroutine, so
// that a slow or failing receiver delays nobody else. What it sends is
// read from its Outbox, oldest first: after a restart it starts with what
// the last run left. It batches what arrives within GroupWait into one
// message, sends at most one message per MinInterval, retries with
// exponential backoff, and marks a message's notifications done only once
// the receiver accepted it (at-least-once delivery).
type Dispatcher struct {
	n       Notifier
	o       DispatchOptions
	log     *slog.Logger
	outbox  Outbox
	mem     *memOutbox // nil when the outbox is the store
	wake    chan struct{}
	running atomic.Bool
	mu      sync.Mutex // held while sending

	health  sync.Mutex
	failing time.Time // start of the current run of failures; zero: healthy
	lastOK  time.Time
	lastErr string
}

// NewDispatcher returns a dispatcher for n; start it with Run.
func NewDispatcher(n Notifier, o DispatchOptions) *Dispatcher {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.GroupWait, 5*time.Second)
	def(&o.MinInterval, time.Minute)
	def(&o.Backoff, 2*time.Second)
	def(&o.MaxBackoff, 5*time.Minute)
	def(&o.Timeout, 10*time.Second)
	if o.QueueSize <= 0 {
		o.QueueSize = 10000
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 1000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Record == nil {
		o.Record = func(context.Context, Attempt) {}
	}
	if o.IDPrefix == "" {
		var r [6]byte
		rand.Read(r[:])
		o.IDPrefix = hex.EncodeToString(r[:])
	}
	d := &Dispatcher{n: n, o: o, outbox: o.Outbox, wake: make(chan struct{}, 1),
		log: o.Logger.With("component", "notify", "notifier", n.Name())}
	if d.outbox == nil {
		d.mem = &memOutbox{max: o.QueueSize, prefix: o.IDPrefix}
		d.outbox = d.mem
	}
	return d
}

// Name is the notifier's name.
func (d *Dispatcher) Name() string { return d.n.Name() }

// Enqueue hands a notification over to a dispatcher without an Outbox,
// without blocking; false means the memory queue is full (the receiver
// has been down for very long). With an Outbox, write to it and call Wake.
func (d *Dispatcher) Enqueue(n Notification) bool {
	if d.mem == nil || !d.mem.add(n) {
		return false
	}
	d.Wake()
	return true
}

// Wake tells the dispatcher that its outbox has something new.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Health says since when the notifier has been failing (zero: its last
// try succeeded or there was none), its last error, and its last success.
func (d *Dispatcher) Health() (failingSince time.Time, lastErr string, lastOK time.Time) {
	d.health.Lock()
	defer d.health.Unlock()
	return d.failing, d.lastErr, d.lastOK
}

func (d *Dispatcher) noteResult(err error) {
	d.health.Lock()
	defer d.health.Unlock()
	now := d.o.Now()
	if err == nil {
		d.failing, d.lastErr, d.lastOK = time.Time{}, "", now
		return
	}
	if d.failing.IsZero() {
		d.failing = now
	}
	d.lastErr = printable(err.Error())
}

// Run delivers until ctx is done, then tries for at most drain to deliver
// what is still waiting. It starts with what the outbox holds: what an
// earlier run (killed, crashed) did not deliver.
func (d *Dispatcher) Run(ctx context.Context, drain time.Duration) {
	d.running.Store(true)
	defer d.running.Store(false)
	d.mu.Lock()
	defer d.mu.Unlock()
	dctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(drain, cancel) })
	defer stop()

	var timer *time.Timer
	var fire <-chan time.Time
	var lastSent time.Time
	arm := func(wait time.Duration) {
		timer = time.NewTimer(wait)
		fire = timer.C
	}
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	d.Wake() // what the last run left
	for {
		select {
		case <-d.wake:
			if fire == nil {
				wait := d.o.GroupWait
				if since := time.Since(lastSent); !lastSent.IsZero() && since < d.o.MinInterval {
					wait = max(wait, d.o.MinInterval-since)
				}
				arm(wait)
			}
		case <-fire:
			fire = nil
			sent, more := d.sendOne(ctx, dctx)
			if !sent {
				if ctx.Err() == nil {
					arm(d.o.Backoff) // the outbox could not be read: try again
				}
				continue
			}
			lastSent = time.Now()
			if more {
				arm(d.o.MinInterval)
			}
		case <-ctx.Done():
			d.flush(dctx)
			return
		}
	}
}

// Flush delivers everything waiting, retrying until ctx is done. It is for
// one-shot runs (replay) where Run is not running; while Run runs it does
// nothing, Run delivers.
func (d *Dispatcher) Flush(ctx context.Context) {
	if d.running.Load() {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.flush(ctx)
}

func (d *Dispatcher) flush(ctx context.Context) {
	for ctx.Err() == nil {
		sent, more := d.sendOne(ctx, ctx)
		if !sent || !more {
			break
		}
	}
	if left, err := d.outbox.Pending(context.WithoutCancel(ctx), 1); err == nil && len(left) > 0 {
		d.log.Warn("stopped before delivering every notification; they wait in the outbox for the next start")
	}
}

// sendOne delivers the oldest MaxBatch waiting notifications as one
// message, retrying with backoff while stop is not done; tries run under
// dctx. sent is false when it stopped (or could not read the outbox)
// before the message was settled (it stays waiting); more says whether
// more notifications wait.
func (d *Dispatcher) sendOne(stop, dctx context.Context) (sent, more bool) {
	batch, err := d.outbox.Pending(dctx, d.o.MaxBatch+1)
	if err != nil {
		if dctx.Err() == nil {
			d.log.Error("reading the outbox", "err", err)
		}
		return false, true
	}
	if len(batch) == 0 {
		return true, false
	}
	more = len(batch) > d.o.MaxBatch
	batch = batch[:min(len(batch), d.o.MaxBatch)]
	m := &Message{ID: MessageID(d.o.IDPrefix, batch), Time: d.o.Now().UTC(), Notifications: batch}
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(dctx, d.o.Timeout)
		err := d.n.Notify(actx, m)
		cancel()
		d.noteResult(err)
		a := Attempt{Notifier: d.n.Name(), Message: m, Number: attempt, Err: err}
		if err == nil {
			d.o.Record(dctx, a)
			return d.done(dctx, batch, "sent"), more
		}
		if IsPermanent(err) || (d.o.MaxAttempts > 0 && attempt >= d.o.MaxAttempts) {
			a.GaveUp = true
			d.log.Error("notification given up", "message", m.ID, "attempt", attempt, "err", err)
			d.o.Record(dctx, a)
			return d.done(dctx, batch, fmt.Sprintf("given up after attempt %d: %s", attempt, printable(err.Error()))), more
		}
		a.Retry = d.backoff(attempt)
		if ra, ok := RetryAfter(err); ok && ra > a.Retry {
			a.Retry = ra
		}
		d.log.Warn("notification failed, will retry", "message", m.ID, "attempt", attempt, "retry_in", a.Retry, "err", err)
		d.o.Record(dctx, a)
		if !d.sleep(stop, a.Retry) {
			return false, true
		}
	}
}

// done marks a settled message's notifications in the outbox. If that
// fails they are sent again later: at least once, never lost.
func (d *Dispatcher) done(ctx context.Context, batch []Notification, result string) bool {
	if err := d.outbox.Done(ctx, batch, result); err != nil {
		d.log.Error("marking notifications done in the outbox; they will be sent again", "err", err)
		return false
	}
	return true
}

func (d *Dispatcher) backoff(attempt int) time.Duration {
	b := d.o.Backoff
	for i := 1; i < attempt && b < d.o.MaxBackoff; i++ {
		b *= 2
	}
	return min(b, d.o.MaxBackoff)
}

// sleep waits for wait; false when stop came first. What arrives meanwhile
// waits in the outbox; the wake-up stays set for the loop.
func (d *Dispatcher) sleep(stop context.Context, wait time.Duration) bool {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-stop.Done():
		return false
	}
}
