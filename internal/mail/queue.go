package mail

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"sort"
	"strings"
	"time"
)

// QueueItem is one message of `postqueue -j`.
type QueueItem struct {
	Queue   string // incoming, active, deferred, hold, maildrop
	QueueID string
	Arrival time.Time
	Size    int64
	Sender  string
	Rcpts   int
	Reason  string // the first recipient's delay_reason
}

// QueueSnapshot summarises one reading of the queue.
type QueueSnapshot struct {
	Time       time.Time
	Depth      map[string]int // by queue name
	Total      int
	OldestAge  time.Duration
	TopSenders []SenderCount
	Items      []QueueItem
	Bad        int // lines postqueue printed that were not a message
}

// SenderCount is an envelope sender and how many queued messages it has.
type SenderCount struct {
	Sender string `json:"sender"`
	Count  int    `json:"count"`
}

type postqueueJSON struct {
	QueueName   string `json:"queue_name"`
	QueueID     string `json:"queue_id"`
	ArrivalTime int64  `json:"arrival_time"`
	MessageSize int64  `json:"message_size"`
	Sender      string `json:"sender"`
	Recipients  []struct {
		Address     string `json:"address"`
		DelayReason string `json:"delay_reason"`
	} `json:"recipients"`
}

// ParseQueue reads `postqueue -j` output (one JSON object per line) as of
// now, keeping the top senders.
func ParseQueue(r io.Reader, now time.Time, top int) (QueueSnapshot, error) {
	s := QueueSnapshot{Time: now, Depth: map[string]int{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	senders := map[string]int{}
	var oldest time.Time
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var j postqueueJSON
		if err := json.Unmarshal(line, &j); err != nil || j.QueueID == "" {
			s.Bad++
			continue
		}
		it := QueueItem{Queue: j.QueueName, QueueID: j.QueueID, Arrival: time.Unix(j.ArrivalTime, 0), Size: j.MessageSize,
			Sender: j.Sender, Rcpts: len(j.Recipients)}
		if len(j.Recipients) > 0 {
			it.Reason = j.Recipients[0].DelayReason
		}
		s.Items = append(s.Items, it)
		s.Depth[it.Queue]++
		s.Total++
		senders[strings.ToLower(it.Sender)]++ // addresses are case-insensitive in practice
		if j.ArrivalTime > 0 && (oldest.IsZero() || it.Arrival.Before(oldest)) {
			oldest = it.Arrival
		}
	}
	if err := sc.Err(); err != nil {
		return s, fmt.Errorf("reading postqueue -j output: %w", err)
	}
	if !oldest.IsZero() {
		s.OldestAge = now.Sub(oldest)
	}
	for snd, n := range senders {
		s.TopSenders = append(s.TopSenders, SenderCount{snd, n})
	}
	sort.Slice(s.TopSenders, func(i, j int) bool {
		a, b := s.TopSenders[i], s.TopSenders[j]
		return a.Count > b.Count || a.Count == b.Count && a.Sender < b.Sender
	})
	if len(s.TopSenders) > top {
		s.TopSenders = s.TopSenders[:top]
	}
	return s, nil
}

// ReadQueue runs `postqueue [-c configDir] -j` and parses its output.
func ReadQueue(ctx context.Context, postqueue, configDir string, now time.Time, top int) (QueueSnapshot, error) {
	args := []string{"-j"}
	if configDir != "" {
		args = []string{"-c", configDir, "-j"}
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, postqueue, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return QueueSnapshot{}, fmt.Errorf("%s %v: %w: %s", postqueue, args, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return ParseQueue(bytes.NewReader(out), now, top)
}
