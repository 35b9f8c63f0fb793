package notify_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/notify"
	"github.com/vigie/vigie/internal/notify/notifytest"
	"github.com/vigie/vigie/internal/notify/webhook"
)

// receiver is a webhook endpoint that answers from a script of statuses,
// then 200, and keeps what it accepted.
type receiver struct {
	mu       sync.Mutex
	script   []int // statuses to answer before 200
	retry    string
	accepted []webhook.Payload
	requests int
	got      chan struct{}
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	if len(r.script) > 0 {
		st := r.script[0]
		r.script = r.script[1:]
		if st == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", r.retry)
		}
		w.WriteHeader(st)
		return
	}
	var p webhook.Payload
	json.Unmarshal(b, &p)
	r.accepted = append(r.accepted, p)
	select {
	case r.got <- struct{}{}:
	default:
	}
}

type attempts struct {
	mu sync.Mutex
	a  []notify.Attempt
}

func (a *attempts) record(_ context.Context, at notify.Attempt) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.a = append(a.a, at)
}

func (a *attempts) list() []notify.Attempt {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]notify.Attempt(nil), a.a...)
}

func fast(rec *attempts) notify.DispatchOptions {
	return notify.DispatchOptions{GroupWait: 20 * time.Millisecond, MinInterval: 20 * time.Millisecond,
		Backoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond, Timeout: 5 * time.Second, Record: rec.record}
}

func run(t *testing.T, d *notify.Dispatcher) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx, time.Second); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func TestStormIsOneMessage(t *testing.T) {
	r := &receiver{got: make(chan struct{}, 1)}
	srv := httptest.NewServer(r)
	defer srv.Close()
	hook, _ := webhook.New(webhook.Options{URL: srv.URL})
	rec := &attempts{}
	o := fast(rec)
	o.GroupWait = 200 * time.Millisecond // the storm arrives within it
	d := notify.NewDispatcher(hook, o)
	storm := notifytest.Storm(751)
	for _, n := range storm.Notifications {
		if !d.Enqueue(n) {
			t.Fatal("queue full")
		}
	}
	run(t, d)
	<-r.got
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.requests != 1 || len(r.accepted) != 1 || len(r.accepted[0].Changes) != 751 {
		t.Fatalf("%d requests, %d accepted, want one message with 751 changes", r.requests, len(r.accepted))
	}
}

func TestRetriesUntilDeliveredHonouringRetryAfter(t *testing.T) {
	r := &receiver{script: []int{500, 503, 429}, retry: "1", got: make(chan struct{}, 1)}
	srv := httptest.NewServer(r)
	defer srv.Close()
	hook, _ := webhook.New(webhook.Options{URL: srv.URL})
	rec := &attempts{}
	d := notify.NewDispatcher(hook, fast(rec))
	d.Enqueue(notifytest.Message().Notifications[0])
	run(t, d)
	<-r.got
	as := rec.list()
	for len(as) < 4 { // the success is recorded just after the receiver saw it
		time.Sleep(5 * time.Millisecond)
		as = rec.list()
	}
	if len(as) != 4 {
		t.Fatalf("%d attempts recorded, want 4", len(as))
	}
	want := []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, time.Second}
	for i, w := range want {
		if as[i].Err == nil || as[i].GaveUp || as[i].Retry != w || as[i].Number != i+1 {
			t.Errorf("attempt %d = %+v, want a retry in %s", i+1, as[i], w)
		}
	}
	if as[3].Err != nil || as[3].Number != 4 || as[3].Message.ID != as[0].Message.ID {
		t.Errorf("last attempt = %+v", as[3])
	}
	if len(r.accepted) != 1 || r.accepted[0].MessageID != as[0].Message.ID {
		t.Errorf("accepted %+v", r.accepted)
	}
}

func TestPermanentFailureGivesUpAndGoesOn(t *testing.T) {
	r := &receiver{script: []int{400}, got: make(chan struct{}, 1)}
	srv := httptest.NewServer(r)
	defer srv.Close()
	hook, _ := webhook.New(webhook.Options{URL: srv.URL})
	rec := &attempts{}
	d := notify.NewDispatcher(hook, fast(rec))
	d.Enqueue(notifytest.Message().Notifications[0])
	run(t, d)
	for len(rec.list()) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	// The next notification is delivered: one bad message does not block.
	d.Enqueue(notifytest.Message().Notifications[0])
	<-r.got
	as := rec.list()
	if !as[0].GaveUp || as[0].Err == nil || as[0].Retry != 0 {
		t.Errorf("first attempt = %+v, want given up", as[0])
	}
}

func TestDownReceiverLosesNothing(t *testing.T) {
	r := &receiver{got: make(chan struct{}, 1)}
	srv := httptest.NewUnstartedServer(r)
	addr := srv.Listener.Addr().String()
	hook, _ := webhook.New(webhook.Options{URL: "http://" + addr})
	srv.Listener.Close() // down: connection refused
	rec := &attempts{}
	d := notify.NewDispatcher(hook, fast(rec))
	run(t, d)
	for i := 0; i < 5; i++ {
		d.Enqueue(notifytest.Storm(5).Notifications[i])
	}
	for len(rec.list()) < 3 {
		time.Sleep(5 * time.Millisecond)
	}
	// Back up on the same address: everything arrives.
	srv2 := httptest.NewUnstartedServer(r)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot reuse the port: %v", err)
	}
	srv2.Listener = ln
	srv2.Start()
	defer srv2.Close()
	total := 0
	for total < 5 {
		<-r.got
		r.mu.Lock()
		total = 0
		for _, p := range r.accepted {
			total += len(p.Changes)
		}
		r.mu.Unlock()
	}
	if total != 5 {
		t.Errorf("%d changes delivered, want 5", total)
	}
	for _, a := range rec.list()[:3] {
		if a.Err == nil || a.GaveUp {
			t.Errorf("attempt while down = %+v", a)
		}
	}
}

type blocked struct{ release chan struct{} }

func (b *blocked) Name() string { return "blocked" }
func (b *blocked) Notify(ctx context.Context, m *notify.Message) error {
	select {
	case <-b.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// A receiver that hangs: the queue stays bounded and says so.
func TestQueueStaysBounded(t *testing.T) {
	b := &blocked{release: make(chan struct{})}
	rec := &attempts{}
	o := fast(rec)
	o.QueueSize, o.Timeout = 3, time.Hour
	d := notify.NewDispatcher(b, o)
	run(t, d)
	refused := 0
	for i := 0; i < 20; i++ {
		if !d.Enqueue(notifytest.Message().Notifications[0]) {
			refused++
		}
		time.Sleep(2 * time.Millisecond)
	}
	close(b.release)
	// At most 3 pending plus 3 in the channel are held.
	if refused < 20-6 {
		t.Errorf("%d refused, want at least 14", refused)
	}
}
