// Package webhook posts alert changes as JSON to any URL, signed with
// HMAC-SHA256 so the receiver can check they come from vigie.
//
// The request:
//
//	POST <url>
//	Content-Type: application/json
//	X-Vigie-Message: <message id, the same on every retry>
//	Idempotency-Key: <the same message id>
//	X-Vigie-Timestamp: <unix seconds>
//	X-Vigie-Signature: sha256=<hex HMAC-SHA256(key, timestamp + "." + body)>
//
// A receiver recomputes the signature over the raw body and refuses a
// timestamp older than a few minutes (replays).
//
// Delivery is at least once: a message the receiver accepted just before
// vigie was killed is sent again at the next start. Each change carries an
// "id" that never changes for that change (it is the key of its row in
// vigie's outbox), so a receiver drops a change whose id it already has;
// the same changes re-sent together also carry the same Idempotency-Key.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/vigie/vigie/internal/notify"
)

// Options configure a Notifier.
type Options struct {
	Name    string
	URL     string
	HMACKey string // empty: unsigned (not recommended)
	Client  *http.Client
	Now     func() time.Time
}

// Notifier implements notify.Notifier.
type Notifier struct{ o Options }

// New checks o and returns a notifier.
func New(o Options) (*Notifier, error) {
	if err := notify.CheckURL(o.URL); err != nil {
		return nil, err
	}
	if o.Client == nil {
		o.Client, _ = notify.NewHTTPClient("")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Name == "" {
		o.Name = "webhook"
	}
	return &Notifier{o: o}, nil
}

// Name implements notify.Notifier.
func (n *Notifier) Name() string { return n.o.Name }

// Payload is the JSON body: the contract with receivers.
type Payload struct {
	Version   int       `json:"version"` // 1
	MessageID string    `json:"message_id"`
	Time      time.Time `json:"time"`
	Title     string    `json:"title"`
	Changes   []Change  `json:"changes"`
}

// Change is one alert change.
type Change struct {
	ID       string    `json:"id"` // the idempotency key of this change
	Change   string    `json:"change"`
	Time     time.Time `json:"time"`
	Alert    Alert     `json:"alert"`
	Incident *Incident `json:"incident,omitempty"`
}

// Alert is the alert as it was when the change happened.
type Alert struct {
	ID        int64             `json:"id"`
	Key       string            `json:"key"`
	Group     string            `json:"group"`
	Watch     string            `json:"watch"`
	Rule      string            `json:"rule"`
	Subject   string            `json:"subject"`
	Severity  string            `json:"severity"`
	State     string            `json:"state"`
	Summary   string            `json:"summary"`
	Evidence  map[string]string `json:"evidence,omitempty"`
	FirstSeen time.Time         `json:"first_seen"`
	LastSeen  time.Time         `json:"last_seen"`
	Count     int64             `json:"count"`
	Node      string            `json:"node,omitempty"`
}

// Incident is the incident the alert belongs to.
type Incident struct {
	ID       int64     `json:"id"`
	Title    string    `json:"title"`
	State    string    `json:"state"`
	Severity string    `json:"severity"`
	OpenedAt time.Time `json:"opened_at"`
	// What happened in one line, what vigie did, the next step and the
	// dashboard page (absent when vigie could not tell).
	Headline string `json:"headline,omitempty"`
	Did      string `json:"vigie_did,omitempty"`
	Next     string `json:"next_step,omitempty"`
	URL      string `json:"url,omitempty"`
}

// NewPayload builds the body for m.
func NewPayload(m *notify.Message) Payload {
	p := Payload{Version: 1, MessageID: m.ID, Time: m.Time, Title: notify.Title(m), Changes: make([]Change, 0, len(m.Notifications))}
	for _, n := range m.Notifications {
		a := n.Alert
		c := Change{ID: n.Key, Change: string(n.Change), Time: n.Time, Alert: Alert{ID: a.ID, Key: a.Key, Group: a.Group, Watch: a.Watch,
			Rule: a.Rule, Subject: a.Subject, Severity: a.Severity.String(), State: string(a.State), Summary: a.Summary,
			Evidence: a.Evidence, FirstSeen: a.FirstSeen, LastSeen: a.LastSeen, Count: a.Count, Node: a.Node}}
		if in := n.Incident; in.ID != 0 {
			c.Incident = &Incident{ID: in.ID, Title: in.Title, State: string(in.State), Severity: in.Severity.String(), OpenedAt: in.OpenedAt}
			if b := n.Brief; b != nil {
				c.Incident.Headline, c.Incident.Did, c.Incident.Next, c.Incident.URL = b.Headline, b.Did, b.Next, b.URL
			}
		}
		p.Changes = append(p.Changes, c)
	}
	return p
}

// Sign returns the X-Vigie-Signature value for body sent at timestamp ts.
func Sign(key []byte, ts string, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a request's signature and that its timestamp is within
// maxAge of now: what a receiver written in Go does.
func Verify(key []byte, h http.Header, body []byte, now time.Time, maxAge time.Duration) error {
	ts := h.Get("X-Vigie-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("missing or bad X-Vigie-Timestamp")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > maxAge || d < -maxAge {
		return errors.New("timestamp too far from now (a replay?)")
	}
	if !hmac.Equal([]byte(Sign(key, ts, body)), []byte(h.Get("X-Vigie-Signature"))) {
		return errors.New("bad signature")
	}
	return nil
}

// Notify implements notify.Notifier.
func (n *Notifier) Notify(ctx context.Context, m *notify.Message) error {
	body, err := json.Marshal(NewPayload(m)) // escapes <, > and & too: inert if a receiver shows it in HTML
	if err != nil {
		return notify.Permanent(err)
	}
	req, err := http.NewRequest(http.MethodPost, n.o.URL, bytes.NewReader(body))
	if err != nil {
		return notify.Permanent(err)
	}
	ts := strconv.FormatInt(n.o.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Vigie-Message", m.ID)
	req.Header.Set("Idempotency-Key", m.ID)
	req.Header.Set("X-Vigie-Timestamp", ts)
	if n.o.HMACKey != "" {
		req.Header.Set("X-Vigie-Signature", Sign([]byte(n.o.HMACKey), ts, body))
	}
	return notify.Do(ctx, n.o.Client, req)
}
