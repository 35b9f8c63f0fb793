package mailqueue

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// A Message is one queued message as `postqueue -j` describes it.
type Message struct {
	Queue      string      `json:"queue_name"` // incoming, active, deferred, hold, maildrop
	ID         string      `json:"queue_id"`
	Arrival    int64       `json:"arrival_time"`
	Size       int64       `json:"message_size"`
	Sender     string      `json:"sender"`
	Recipients []Recipient `json:"recipients"`
}

// Recipient is one recipient of a queued message.
type Recipient struct {
	Address     string `json:"address"`
	DelayReason string `json:"delay_reason,omitempty"`
}

// ArrivalTime is when Postfix received the message.
func (m *Message) ArrivalTime() time.Time { return time.Unix(m.Arrival, 0).UTC() }

// maxQueueOutput bounds what is read from postqueue -j: about a million
// messages. A bigger queue is an emergency of its own; the error says so.
const maxQueueOutput = 1 << 30

// List returns every message in the queue.
func (t *Tools) List(ctx context.Context) ([]Message, error) {
	ctx, cancel := context.WithTimeout(ctx, t.timeout())
	defer cancel()
	cmd, err := t.command(ctx, t.Postqueue, "-j")
	if err != nil {
		return nil, fmt.Errorf("postqueue: %w", err)
	}
	out, err := output(cmd, nil, maxQueueOutput)
	if err != nil {
		return nil, fmt.Errorf("listing the queue: %w", err)
	}
	msgs, bad := ParseQueue(out)
	if bad > 0 && len(msgs) == 0 {
		return nil, fmt.Errorf("listing the queue: postqueue -j printed %d lines that are not JSON", bad)
	}
	return msgs, nil
}

// ParseQueue reads postqueue -j output: one JSON object per line. Lines
// that do not parse or carry an invalid queue id are skipped and counted.
func ParseQueue(out []byte) (msgs []Message, bad int) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var m Message
		if err := json.Unmarshal(line, &m); err != nil || !ValidQueueID(m.ID) {
			bad++
			continue
		}
		msgs = append(msgs, m)
	}
	if sc.Err() != nil {
		bad++
	}
	return msgs, bad
}
