package ntfy

import (
	"context"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vigie/vigie/internal/notify"
	"github.com/vigie/vigie/internal/notify/notifytest"
)

func TestPublishWithHeaders(t *testing.T) {
	var r0 *http.Request
	var body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r0 = r
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":"x","event":"message","topic":"vigie-ops"}`))
	}))
	defer srv.Close()
	n, err := New(Options{Server: srv.URL, Topic: "vigie-ops", Token: "tk_abc"})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(context.Background(), notifytest.Message()); err != nil {
		t.Fatal(err)
	}
	if r0.Method != http.MethodPost || r0.URL.Path != "/vigie-ops" || r0.Header.Get("Authorization") != "Bearer tk_abc" {
		t.Errorf("request %s %s %v", r0.Method, r0.URL.Path, r0.Header)
	}
	if r0.Header.Get("Priority") != "5" || r0.Header.Get("Tags") != "rotating_light" {
		t.Errorf("priority %q tags %q", r0.Header.Get("Priority"), r0.Header.Get("Tags"))
	}
	// Non-ASCII title: RFC 2047, which ntfy decodes; no header injection.
	raw := r0.Header.Get("Title")
	if !strings.HasPrefix(raw, "=?utf-8?b?") {
		t.Errorf("Title = %q, want RFC 2047", raw)
	}
	title, err := new(mime.WordDecoder).DecodeHeader(raw)
	if err != nil || !strings.Contains(title, "<script>alert(1)</script>") || strings.ContainsAny(title, "\r\n") {
		t.Errorf("decoded title %q, %v", title, err)
	}
	if r0.Header.Get("Bcc") != "" {
		t.Error("hostile text injected a header")
	}
	for _, want := range []string{"Incident #7", "vigie did: held 412 messages", "Next step: Suspend", "Dashboard: " + notifytest.URL} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q: %q", want, body)
		}
	}
	if !strings.Contains(title, "incident #7: ") || !strings.Contains(title, "sent 600 messages in 10 min") {
		t.Errorf("the title does not say what happened: %q", title)
	}
}

func TestBasicAuthAndLongBody(t *testing.T) {
	var user, pass string
	var n0 int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ = r.BasicAuth()
		b, _ := io.ReadAll(r.Body)
		n0 = len(b)
	}))
	defer srv.Close()
	n, _ := New(Options{Server: srv.URL, Topic: "t", Username: "vigie", Password: "pw"})
	m := notifytest.Storm(751)
	// Many incidents make a long text; the body stays under ntfy's limit.
	for i := range m.Notifications {
		m.Notifications[i].Alert.IncidentID = int64(i)
		m.Notifications[i].Incident.ID = int64(i)
	}
	if err := n.Notify(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if user != "vigie" || pass != "pw" || n0 > maxBody || n0 < maxBody/2 {
		t.Errorf("auth %q/%q, body %d bytes", user, pass, n0)
	}
	if p, tags := Priority(&notify.Message{Notifications: []notify.Notification{{Change: notify.Resolved}}}); p != "2" || tags != "white_check_mark" {
		t.Errorf("resolved: priority %s tags %s", p, tags)
	}
}
