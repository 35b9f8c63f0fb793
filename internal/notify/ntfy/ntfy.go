// Package ntfy publishes alert changes to an ntfy topic (ntfy.sh or a
// self-hosted server):
//
//	POST <server>/<topic>
//	Title: <one line, RFC 2047-encoded when not ASCII>
//	Priority: 5 (critical), 4 (warning), 3 (info), 2 (all resolved)
//	Tags: rotating_light | warning | information_source | white_check_mark
//	Authorization: Bearer <token>   (or Basic user:password)
//
//	<plain-text body>
package ntfy

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/vigie/vigie/internal/notify"
	"github.com/vigie/vigie/internal/vigie"
)

// Options configure a Notifier.
type Options struct {
	Name     string
	Server   string // https://ntfy.sh
	Topic    string
	Token    string // access token (tk_...), or
	Username string // user and password
	Password string
	Client   *http.Client
}

// Notifier implements notify.Notifier.
type Notifier struct {
	o   Options
	url string
}

// New checks o and returns a notifier.
func New(o Options) (*Notifier, error) {
	if err := notify.CheckURL(o.Server); err != nil {
		return nil, err
	}
	if o.Topic == "" || strings.ContainsAny(o.Topic, "/?#") {
		return nil, errors.New("topic: expected a topic name without /, ? or #")
	}
	if o.Token != "" && o.Username != "" {
		return nil, errors.New("set token or username/password, not both")
	}
	if o.Client == nil {
		o.Client, _ = notify.NewHTTPClient("")
	}
	if o.Name == "" {
		o.Name = "ntfy"
	}
	return &Notifier{o: o, url: strings.TrimRight(o.Server, "/") + "/" + url.PathEscape(o.Topic)}, nil
}

// Name implements notify.Notifier.
func (n *Notifier) Name() string { return n.o.Name }

// maxBody keeps a message under ntfy's default 4096-byte limit, beyond
// which the server turns it into an attachment.
const maxBody = 4000

// HeaderValue makes text fit an HTTP header: one line, RFC 2047-encoded
// when it is not plain ASCII (ntfy decodes it).
func HeaderValue(s string) string {
	s = notify.OneLine(s, 250)
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return mime.BEncoding.Encode("utf-8", s)
		}
	}
	return s
}

// Priority and Tags say how urgent m is.
func Priority(m *notify.Message) (priority, tags string) {
	if m.AllResolved() {
		return "2", "white_check_mark"
	}
	switch m.MaxSeverity() {
	case vigie.SeverityCritical:
		return "5", "rotating_light"
	case vigie.SeverityWarning:
		return "4", "warning"
	default:
		return "3", "information_source"
	}
}

// Body is the plain-text body, cut to fit.
func Body(m *notify.Message) string {
	s := notify.Text(m)
	if len(s) <= maxBody {
		return s
	}
	cut := maxBody - len("\n…(cut; see vigie incident show)")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "\n…(cut; see vigie incident show)"
}

// Notify implements notify.Notifier.
func (n *Notifier) Notify(ctx context.Context, m *notify.Message) error {
	req, err := http.NewRequest(http.MethodPost, n.url, strings.NewReader(Body(m)))
	if err != nil {
		return notify.Permanent(err)
	}
	prio, tags := Priority(m)
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	req.Header.Set("Title", HeaderValue(notify.Title(m)))
	req.Header.Set("Priority", prio)
	req.Header.Set("Tags", tags)
	switch {
	case n.o.Token != "":
		req.Header.Set("Authorization", "Bearer "+n.o.Token)
	case n.o.Username != "":
		req.SetBasicAuth(n.o.Username, n.o.Password)
	}
	return notify.Do(ctx, n.o.Client, req)
}
