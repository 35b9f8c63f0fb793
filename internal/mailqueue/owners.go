package mailqueue

import (
	"context"
	"fmt"
	"sync"

	"github.com/vigie/vigie/internal/task"
)

// An Owner is who put a message in the queue, as far as an index knows.
type Owner struct {
	SASLUser string // the authenticated SMTP account; "" if none or unknown
	Sender   string
	Client   string // the SMTP client address; "" for local submission
	UID      int    // the local user that ran sendmail; -1 if unknown
}

// An OwnerIndex maps queue ids to their owners. The queue itself only has
// the envelope sender: the SASL account and the local uid come from
// elsewhere (the policy server's records of the messages it saw, the queue
// files, the mail log).
type OwnerIndex interface {
	// Owners returns what the index knows about the queued messages msgs
	// (their ids, arrival times and senders come from postqueue -j),
	// keyed by queue id; messages it does not know are absent.
	Owners(ctx context.Context, msgs []Message) (map[string]Owner, error)
}

// Chain asks each index in turn about the ids the previous ones did not
// know: cheap indexes (records in the store, the mail log) first, the
// queue files last.
type Chain []OwnerIndex

// Owners implements OwnerIndex.
func (c Chain) Owners(ctx context.Context, msgs []Message) (map[string]Owner, error) {
	out := make(map[string]Owner, len(msgs))
	left := msgs
	for _, ix := range c {
		if len(left) == 0 {
			break
		}
		got, err := ix.Owners(ctx, left)
		if err != nil {
			return nil, err
		}
		var still []Message
		for _, m := range left {
			if o, ok := got[m.ID]; ok {
				out[m.ID] = o
			} else {
				still = append(still, m)
			}
		}
		left = still
	}
	return out, nil
}

// QueueFiles reads owners from the queue files with postcat: smtpd writes
// the SASL account as a named attribute of the envelope, and pickup
// prepends "Received: by HOST (Postfix, from userid N)" to locally
// submitted mail. It covers mail that passed before vigie ran, at the cost
// of one postcat run per message.
type QueueFiles struct {
	Tools *Tools
	// Workers is how many postcat run at once (default 4).
	Workers int
}

// Owners implements OwnerIndex. Messages that left the queue meanwhile are
// simply absent.
func (q *QueueFiles) Owners(ctx context.Context, msgs []Message) (map[string]Owner, error) {
	workers := q.Workers
	if workers <= 0 {
		workers = 4
	}
	out := make(map[string]Owner, len(msgs))
	var mu sync.Mutex
	work := make(chan string, len(msgs))
	for _, m := range msgs {
		if ValidQueueID(m.ID) {
			work <- m.ID
		}
	}
	close(work)
	// A worker's panic (a queue file postcat prints oddly) is re-raised
	// here, in the caller's supervised goroutine, by Wait.
	var ws task.Workers
	for range workers {
		ws.Go("queue file reader", func() {
			for id := range work {
				if ctx.Err() != nil || ws.Failed() {
					continue // drain
				}
				o, ok := q.owner(ctx, id)
				if ok {
					mu.Lock()
					out[id] = o
					mu.Unlock()
				}
			}
		})
	}
	ws.Wait()
	return out, ctx.Err()
}

func (q *QueueFiles) owner(ctx context.Context, id string) (Owner, bool) {
	ctx, cancel := context.WithTimeout(ctx, q.Tools.timeout())
	defer cancel()
	// -e: envelope, -h: headers; never the body.
	cmd, err := q.Tools.command(ctx, q.Tools.Postcat, "-e", "-h", "-q", id)
	if err != nil {
		return Owner{}, false
	}
	out, err := output(cmd, nil, 1<<20)
	if err != nil && len(out) == 0 {
		return Owner{}, false
	}
	return ParsePostcat(out)
}

// UIDOf reads the uid of a locally submitted message from its queue file,
// while it is still being received (the milter asks at end of message):
// the first Received header, which pickup wrote. An error when the file
// has no such header (it did not come through pickup).
func (t *Tools) UIDOf(ctx context.Context, id string) (int, error) {
	if !ValidQueueID(id) {
		return -1, fmt.Errorf("invalid queue id %q", id)
	}
	q := QueueFiles{Tools: t}
	o, ok := q.owner(ctx, id)
	if !ok {
		return -1, fmt.Errorf("postcat -q %s: nothing read", id)
	}
	if o.UID < 0 {
		return -1, fmt.Errorf("queue file %s has no pickup Received header", id)
	}
	return o.UID, nil
}
