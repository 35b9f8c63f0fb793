package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"strconv"
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
	// until it is delivered or vigie stops, so nothing is lost to a
	// receiver that is down for a while.
	MaxAttempts int
	// QueueSize bounds the notifications waiting (10000); MaxBatch bounds
	// one message (1000).
	QueueSize, MaxBatch int
	// IDPrefix starts message ids (default: random, so that ids never
	// repeat across restarts; Matrix transaction ids must not).
	IDPrefix string
	Now      func() time.Time
	Logger   *slog.Logger
	// Record is called after every try, on the dispatcher's goroutine.
	Record func(ctx context.Context, a Attempt)
}

// A Dispatcher owns the delivery of one notifier: its own queue and
// goroutine, so that a slow or failing receiver delays nobody else. It
// batches what arrives within GroupWait into one message, sends at most
// one message per MinInterval, and retries with exponential backoff.
type Dispatcher struct {
	n       Notifier
	o       DispatchOptions
	log     *slog.Logger
	in      chan Notification
	pending []Notification
	seq     atomic.Int64
	prefix  string
	running atomic.Bool
	mu      sync.Mutex // held while pending is worked on
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
	return &Dispatcher{n: n, o: o, in: make(chan Notification, o.QueueSize), prefix: o.IDPrefix,
		log: o.Logger.With("component", "notify", "notifier", n.Name())}
}

// Name is the notifier's name.
func (d *Dispatcher) Name() string { return d.n.Name() }

// Enqueue hands a notification over without blocking; false means the
// queue is full (the receiver has been down for very long).
func (d *Dispatcher) Enqueue(n Notification) bool {
	select {
	case d.in <- n:
		return true
	default:
		return false
	}
}

// Run delivers until ctx is done, then tries for at most drain to deliver
// what is still waiting.
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
	for {
		select {
		case n := <-d.room():
			d.pending = append(d.pending, n)
			if fire == nil {
				wait := d.o.GroupWait
				if since := time.Since(lastSent); !lastSent.IsZero() && since < d.o.MinInterval {
					wait = max(wait, d.o.MinInterval-since)
				}
				arm(wait)
			}
		case <-fire:
			fire = nil
			if !d.sendOne(ctx, dctx) {
				continue // stopping: the loop sees ctx done
			}
			lastSent = time.Now()
			if len(d.pending) > 0 {
				arm(d.o.MinInterval)
			}
		case <-ctx.Done():
			d.flush(dctx)
			return
		}
	}
}

// Flush delivers everything queued, retrying until ctx is done. It is for
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
	d.absorb()
	for len(d.pending) > 0 && ctx.Err() == nil {
		if !d.sendOne(ctx, ctx) {
			break
		}
		d.absorb()
	}
	if len(d.pending) > 0 {
		d.log.Warn("stopped before delivering every notification", "left", len(d.pending))
	}
}

// room is the queue while pending has room, else nil: what waits beyond
// QueueSize stays in the channel, which then fills and refuses more
// (counted as dropped), so a long outage cannot eat the memory.
func (d *Dispatcher) room() chan Notification {
	if len(d.pending) >= d.o.QueueSize {
		return nil
	}
	return d.in
}

// absorb moves what is queued into pending without waiting.
func (d *Dispatcher) absorb() {
	for {
		select {
		case n := <-d.room():
			d.pending = append(d.pending, n)
		default:
			return
		}
	}
}

// sendOne delivers the oldest MaxBatch pending notifications as one
// message, retrying with backoff while stop is not done; tries run under
// dctx. It returns false when it stopped before the message was settled
// (it stays pending).
func (d *Dispatcher) sendOne(stop, dctx context.Context) bool {
	d.absorb()
	if len(d.pending) == 0 {
		return true
	}
	k := min(len(d.pending), d.o.MaxBatch)
	m := &Message{ID: d.prefix + "-" + strconv.FormatInt(d.seq.Add(1), 10), Time: d.o.Now().UTC(),
		Notifications: append([]Notification(nil), d.pending[:k]...)}
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(dctx, d.o.Timeout)
		err := d.n.Notify(actx, m)
		cancel()
		a := Attempt{Notifier: d.n.Name(), Message: m, Number: attempt, Err: err}
		if err == nil {
			d.o.Record(dctx, a)
			d.pending = d.pending[k:]
			return true
		}
		if IsPermanent(err) || (d.o.MaxAttempts > 0 && attempt >= d.o.MaxAttempts) {
			a.GaveUp = true
			d.log.Error("notification given up", "message", m.ID, "attempt", attempt, "err", err)
			d.o.Record(dctx, a)
			d.pending = d.pending[k:]
			return true
		}
		a.Retry = d.backoff(attempt)
		if ra, ok := RetryAfter(err); ok && ra > a.Retry {
			a.Retry = ra
		}
		d.log.Warn("notification failed, will retry", "message", m.ID, "attempt", attempt, "retry_in", a.Retry, "err", err)
		d.o.Record(dctx, a)
		if !d.sleep(stop, a.Retry) {
			return false
		}
	}
}

func (d *Dispatcher) backoff(attempt int) time.Duration {
	b := d.o.Backoff
	for i := 1; i < attempt && b < d.o.MaxBackoff; i++ {
		b *= 2
	}
	return min(b, d.o.MaxBackoff)
}

// sleep waits for wait, keeping the queue drained meanwhile; false when
// stop came first.
func (d *Dispatcher) sleep(stop context.Context, wait time.Duration) bool {
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return true
		case n := <-d.room():
			d.pending = append(d.pending, n)
		case <-stop.Done():
			return false
		}
	}
}
