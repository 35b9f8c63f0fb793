// Package matrix sends alert changes to a Matrix room through the
// client-server API:
//
//	PUT /_matrix/client/v3/rooms/{roomId}/send/m.room.message/{txnId}
//	Authorization: Bearer <access token>
//	{"msgtype": "m.notice", "body": "<plain text>",
//	 "format": "org.matrix.custom.html", "formatted_body": "<escaped HTML>"}
//
// The transaction id is the message id, the same on every retry, so the
// homeserver keeps one event however many times it is sent. m.notice is
// the message type the specification asks bots to use.
package matrix

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/vigie/vigie/internal/notify"
)

// Options configure a Notifier.
type Options struct {
	Name        string
	Homeserver  string // https://matrix.example.org
	RoomID      string // !abcdef:example.org (the room must be joined by the bot)
	AccessToken string
	Client      *http.Client
}

// Notifier implements notify.Notifier.
type Notifier struct{ o Options }

// New checks o and returns a notifier.
func New(o Options) (*Notifier, error) {
	if err := notify.CheckURL(o.Homeserver); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(o.RoomID, "!") || !strings.Contains(o.RoomID, ":") {
		return nil, errors.New("room_id: expected a room id such as !abcdef:example.org (not an alias)")
	}
	if o.AccessToken == "" {
		return nil, errors.New("access_token is required")
	}
	if o.Client == nil {
		o.Client, _ = notify.NewHTTPClient("")
	}
	if o.Name == "" {
		o.Name = "matrix"
	}
	o.Homeserver = strings.TrimRight(o.Homeserver, "/")
	return &Notifier{o: o}, nil
}

// Name implements notify.Notifier.
func (n *Notifier) Name() string { return n.o.Name }

// Event is the m.room.message content vigie sends.
type Event struct {
	MsgType       string `json:"msgtype"`
	Body          string `json:"body"`
	Format        string `json:"format"`
	FormattedBody string `json:"formatted_body"`
}

// NewEvent renders m: every piece of finding text is HTML-escaped in the
// formatted body, so a subject like <script> stays text.
func NewEvent(m *notify.Message) Event {
	title := notify.Title(m)
	return Event{
		MsgType:       "m.notice",
		Body:          title + "\n\n" + notify.Text(m),
		Format:        "org.matrix.custom.html",
		FormattedBody: "<p><strong>" + htmlEscape(title) + "</strong></p>" + notify.HTML(m),
	}
}

// Path is the request path for a message in a room.
func Path(roomID, txnID string) string {
	return "/_matrix/client/v3/rooms/" + url.PathEscape(roomID) + "/send/m.room.message/" + url.PathEscape(txnID)
}

// Notify implements notify.Notifier.
func (n *Notifier) Notify(ctx context.Context, m *notify.Message) error {
	body, err := json.Marshal(NewEvent(m))
	if err != nil {
		return notify.Permanent(err)
	}
	req, err := http.NewRequest(http.MethodPut, n.o.Homeserver+Path(n.o.RoomID, m.ID), bytes.NewReader(body))
	if err != nil {
		return notify.Permanent(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+n.o.AccessToken)
	return notify.Do(ctx, n.o.Client, req)
}
