// Package slack posts alert changes to a Slack incoming webhook, or to any
// service that accepts its JSON (Mattermost, Rocket.Chat, Discord's /slack
// endpoint): POST {"text": "..."} as application/json.
package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/vigie/vigie/internal/notify"
)

// Options configure a Notifier. The webhook URL is itself the secret.
type Options struct {
	Name   string
	URL    string
	Client *http.Client
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
	if o.Name == "" {
		o.Name = "slack"
	}
	return &Notifier{o: o}, nil
}

// Name implements notify.Notifier.
func (n *Notifier) Name() string { return n.o.Name }

// escaper does what Slack asks of text: &, < and > as HTML entities, so
// that hostile text cannot make links or mentions (<!channel>).
var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Text is the mrkdwn text of m.
func Text(m *notify.Message) string {
	var b strings.Builder
	b.WriteString("*")
	b.WriteString(escaper.Replace(notify.Title(m)))
	b.WriteString("*\n")
	b.WriteString(escaper.Replace(notify.Text(m)))
	return b.String()
}

// Notify implements notify.Notifier.
func (n *Notifier) Notify(ctx context.Context, m *notify.Message) error {
	body, err := json.Marshal(map[string]string{"text": Text(m)})
	if err != nil {
		return notify.Permanent(err)
	}
	req, err := http.NewRequest(http.MethodPost, n.o.URL, bytes.NewReader(body))
	if err != nil {
		return notify.Permanent(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return notify.Do(ctx, n.o.Client, req)
}
