package matrix

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/vigie/vigie/internal/notify/notifytest"
)

func TestSendsRoomMessage(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	var event map[string]any
	var auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Method != http.MethodPut {
			http.Error(w, `{"errcode":"M_UNRECOGNIZED"}`, http.StatusMethodNotAllowed)
			return
		}
		paths = append(paths, r.URL.EscapedPath())
		auth = r.Header.Get("Authorization")
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &event); err != nil {
			http.Error(w, `{"errcode":"M_NOT_JSON"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"event_id":"$abc:example.org"}`))
	}))
	defer srv.Close()
	n, err := New(Options{Homeserver: srv.URL + "/", RoomID: "!ops:example.org", AccessToken: "syt_token"})
	if err != nil {
		t.Fatal(err)
	}
	m := notifytest.Message()
	for i := 0; i < 2; i++ { // a retry uses the same transaction id
		if err := n.Notify(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	want := "/_matrix/client/v3/rooms/%21ops:example.org/send/m.room.message/abc-1"
	if len(paths) != 2 || paths[0] != want || paths[1] != want {
		t.Errorf("paths = %q, want %q twice", paths, want)
	}
	if auth != "Bearer syt_token" {
		t.Errorf("Authorization = %q", auth)
	}
	if event["msgtype"] != "m.notice" || event["format"] != "org.matrix.custom.html" {
		t.Errorf("event = %v", event)
	}
	body, _ := event["body"].(string)
	html, _ := event["formatted_body"].(string)
	if !strings.Contains(body, "<script>alert(1)</script>") {
		t.Errorf("plain body should carry the text as is: %q", body)
	}
	for _, want := range []string{"sent 600 messages in 10 min", "vigie did: held 412 messages", "Next step: Suspend", "Dashboard: " + notifytest.URL} {
		if !strings.Contains(body, want) || !strings.Contains(html, want) {
			t.Errorf("body or formatted_body lacks %q", want)
		}
	}
	if strings.Contains(html, "<script>") || strings.Contains(html, "<a") || !strings.Contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("formatted_body not escaped: %s", html)
	}
	// Only vigie's own tags remain.
	stripped := html
	for _, tag := range []string{"<p>", "</p>", "<strong>", "</strong>", "<ul>", "</ul>", "<li>", "</li>"} {
		stripped = strings.ReplaceAll(stripped, tag, "")
	}
	if strings.ContainsAny(stripped, "<>") {
		t.Errorf("unexpected markup in formatted_body: %s", html)
	}
}

func TestRateLimitedByHomeserver(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte(`{"errcode":"M_LIMIT_EXCEEDED","error":"Too many requests","retry_after_ms":2500}`))
	}))
	defer srv.Close()
	n, _ := New(Options{Homeserver: srv.URL, RoomID: "!ops:example.org", AccessToken: "t"})
	err := n.Notify(context.Background(), notifytest.Message())
	if err == nil || !strings.Contains(err.Error(), "2.5s") {
		t.Errorf("err = %v, want a retry after 2.5s", err)
	}
}

func TestRoomAliasRefused(t *testing.T) {
	if _, err := New(Options{Homeserver: "https://m.example.org", RoomID: "#ops:example.org", AccessToken: "t"}); err == nil {
		t.Error("a room alias was accepted")
	}
}
