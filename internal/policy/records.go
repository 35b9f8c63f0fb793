package policy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigie/vigie/internal/mailqueue"
	"github.com/vigie/vigie/internal/store"
)

// Every message the policy server sees at the counting stage leaves a
// record "queue id -> account, sender, client" in the store, grouped by
// minute ("qid/<unix minute>"), so that `vigie mail hold --sasl-user` can
// find an account's queued mail: the queue itself only has the sender.

type record struct {
	id     string
	minute int64
	owner  recordValue
}

type recordValue struct {
	User, Sender, Client string
	// UID is the local user of mail submitted with sendmail (seen by the
	// milter), in decimal; "": unknown (no fifth field).
	UID string
}

const (
	recordPrefix = "qid/"
	recordCursor = "qid-expired"
	// maxRecordsPerMinute bounds one minute's record (a few MB).
	maxRecordsPerMinute = 100_000
)

func recordKey(minute int64) string { return recordPrefix + strconv.FormatInt(minute, 10) }

// recorder writes records to the store once a second, off the answer path.
type recorder struct {
	st        store.State
	log       *slog.Logger
	now       func() time.Time
	retention time.Duration
	in        chan record
	dropped   prometheus.Counter
	// the minutes being written, as stored
	open map[int64]*minuteRecords
	// shared: with a store several nodes share, each node appends its
	// lines to the minute's record instead of writing the whole of it,
	// so that nodes never overwrite each other's records.
	shared store.SharedCounters
}

// minuteRecords is one minute's records in their stored form: one line
// per message, "queue_id TAB account TAB sender TAB client", appended to
// as messages pass, so a flush re-encodes nothing.
type minuteRecords struct {
	data []byte
	n    int
	// sent: how much of data is already appended to a shared record
	sent int
}

// appendRecord adds one line; tabs and newlines in hostile values are
// replaced so they cannot forge a record.
func (m *minuteRecords) appendRecord(id string, v recordValue) {
	fields := []string{id, v.User, v.Sender, v.Client}
	if v.UID != "" {
		fields = append(fields, v.UID)
	}
	for i, f := range fields {
		if i > 0 {
			m.data = append(m.data, '\t')
		}
		for j := 0; j < len(f); j++ {
			c := f[j]
			if c == '\t' || c == '\n' {
				c = ' '
			}
			m.data = append(m.data, c)
		}
	}
	m.data = append(m.data, '\n')
	m.n++
}

// parseMinute reads a stored minute; damaged lines are skipped.
func parseMinute(b []byte) map[string]recordValue {
	out := map[string]recordValue{}
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		f := bytes.Split(line, []byte{'\t'})
		if len(f) < 4 || len(f) > 5 || len(f[0]) == 0 {
			continue
		}
		v := recordValue{User: string(f[1]), Sender: string(f[2]), Client: string(f[3])}
		if len(f) == 5 {
			v.UID = string(f[4])
		}
		out[string(f[0])] = v
	}
	return out
}

func newRecorder(st store.State, log *slog.Logger, now func() time.Time, retention time.Duration, dropped prometheus.Counter) *recorder {
	return &recorder{st: st, log: log, now: now, retention: retention, in: make(chan record, 65536),
		dropped: dropped, open: map[int64]*minuteRecords{}}
}

// add queues a record without ever blocking the answer.
func (r *recorder) add(rec record) {
	select {
	case r.in <- rec:
	default:
		r.dropped.Inc()
	}
}

func (r *recorder) run(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	expire := time.NewTicker(time.Minute)
	defer expire.Stop()
	r.expire(ctx)
	for {
		select {
		case <-ctx.Done():
			// the last second's records, with a little time to write them
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			r.flush(fctx)
			cancel()
			return
		case <-tick.C:
			r.flush(ctx)
		case <-expire.C:
			r.expire(ctx)
		}
	}
}

// flush writes the minutes that received records since the last flush.
func (r *recorder) flush(ctx context.Context) {
	touched := map[int64]bool{}
	// at most one channel's worth per flush, so a flood cannot keep it here
drain:
	for n := 0; n < cap(r.in); n++ {
		var rec record
		select {
		case rec = <-r.in:
		default:
			break drain
		}
		m, err := r.minute(ctx, rec.minute)
		if err != nil {
			r.log.Error("reading queue id records", "err", err)
			r.dropped.Inc()
			continue
		}
		if m.n >= maxRecordsPerMinute {
			r.dropped.Inc()
			continue
		}
		m.appendRecord(rec.id, rec.owner)
		touched[rec.minute] = true
	}
	if r.shared != nil {
		// every minute with lines not yet appended, including those a
		// failed flush left (the store was down): they are kept in
		// memory until written
		for minute, m := range r.open {
			if m.sent < len(m.data) {
				touched[minute] = true
			}
		}
	}
	for minute := range touched {
		m := r.open[minute]
		var err error
		if r.shared != nil {
			if err = r.shared.AppendState(ctx, StateWatch, recordKey(minute), m.data[m.sent:]); err == nil {
				m.sent = len(m.data)
			}
		} else {
			err = r.st.PutState(ctx, StateWatch, recordKey(minute), m.data)
		}
		if err != nil && ctx.Err() == nil {
			r.log.Error("writing queue id records", "err", err)
		}
	}
	// keep only the minutes still being written (and, shared, those
	// still to be appended)
	cur := r.now().Unix() / 60
	for minute, m := range r.open {
		if minute < cur-1 && (r.shared == nil || m.sent == len(m.data)) || minute < cur-recordSpan {
			delete(r.open, minute)
		}
	}
}

func (r *recorder) minute(ctx context.Context, minute int64) (*minuteRecords, error) {
	if m, ok := r.open[minute]; ok {
		return m, nil
	}
	if r.shared != nil {
		// appended to: this node writes only its own lines
		m := &minuteRecords{}
		r.open[minute] = m
		return m, nil
	}
	// a minute written before a restart is continued, not overwritten
	b, err := readMinuteRaw(ctx, r.st, minute)
	if err != nil {
		return nil, err
	}
	m := &minuteRecords{data: b, n: bytes.Count(b, []byte{'\n'})}
	r.open[minute] = m
	return m, nil
}

func readMinuteRaw(ctx context.Context, st store.State, minute int64) ([]byte, error) {
	b, err := st.GetState(ctx, StateWatch, recordKey(minute))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return b, err
}

func readMinute(ctx context.Context, st store.State, minute int64) (map[string]recordValue, error) {
	b, err := readMinuteRaw(ctx, st, minute)
	if err != nil {
		return nil, err
	}
	return parseMinute(b), nil
}

// expire deletes the minutes older than the retention, from where the last
// expiry stopped (the first run starts at the retention's edge).
func (r *recorder) expire(ctx context.Context) {
	edge := r.now().Add(-r.retention).Unix() / 60
	from := edge
	if b, err := r.st.GetState(ctx, StateWatch, recordCursor); err == nil {
		if n, err := strconv.ParseInt(string(b), 10, 64); err == nil && n < edge {
			from = n
		}
	}
	// bounded work per run: a long downtime is caught up over a few runs
	if edge-from > 24*60 {
		edge = from + 24*60
	}
	for m := from; m < edge && ctx.Err() == nil; m++ {
		if err := r.st.DeleteState(ctx, StateWatch, recordKey(m)); err != nil {
			r.log.Error("expiring queue id records", "err", err)
			return
		}
	}
	if err := r.st.PutState(ctx, StateWatch, recordCursor, []byte(strconv.FormatInt(edge, 10))); err != nil && ctx.Err() == nil {
		r.log.Error("expiring queue id records", "err", err)
	}
}

// StoreIndex finds the owners of queued messages in the records the
// policy server left in the store. It knows the messages that passed
// through the policy server (authenticated and permitted-network SMTP);
// not local submissions (sendmail/pickup), which never reach it.
type StoreIndex struct {
	Store store.State
	// Now bounds which minutes are read; time.Now if nil.
	Now func() time.Time
}

var _ mailqueue.OwnerIndex = (*StoreIndex)(nil)

// OwnerIndex is how vigie finds who queued a message, for the queue
// actions of the daemon (containment) and of the command line: the
// policy server's records first (cheap), then the queue files themselves
// (one postcat per message still unknown). This is the one place to add
// another index, such as one built from the mail log, which also knows
// mail that passed before vigie ran: logIndex (the mail watch's, nil for
// none) is asked between the records and the queue files.
func OwnerIndex(st store.State, tools *mailqueue.Tools, logIndex mailqueue.OwnerIndex) mailqueue.OwnerIndex {
	chain := mailqueue.Chain{&StoreIndex{Store: st}}
	if logIndex != nil {
		chain = append(chain, logIndex)
	}
	return append(chain, &mailqueue.QueueFiles{Tools: tools})
}

// recordSpan is how many minutes after its arrival a message's record
// may be written: the policy request comes at the end of DATA.
const recordSpan = 10

// Owners implements mailqueue.OwnerIndex.
func (x *StoreIndex) Owners(ctx context.Context, msgs []mailqueue.Message) (map[string]mailqueue.Owner, error) {
	now := time.Now
	if x.Now != nil {
		now = x.Now
	}
	last := now().Unix()/60 + 1
	cache := map[int64]map[string]recordValue{}
	out := map[string]mailqueue.Owner{}
	for _, msg := range msgs {
		first := msg.Arrival/60 - 1
		for m := first; m <= first+recordSpan+1 && m <= last; m++ {
			recs, ok := cache[m]
			if !ok {
				var err error
				if recs, err = readMinute(ctx, x.Store, m); err != nil {
					return nil, fmt.Errorf("reading queue id records: %w", err)
				}
				cache[m] = recs
			}
			if v, ok := recs[msg.ID]; ok {
				uid, err := strconv.Atoi(v.UID)
				if err != nil || uid < 0 {
					uid = -1
				}
				out[msg.ID] = mailqueue.Owner{SASLUser: v.User, Sender: v.Sender, Client: v.Client, UID: uid}
				break
			}
		}
	}
	return out, nil
}
