package slack

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vigie/vigie/internal/notify/notifytest"
)

func TestIncomingWebhookJSON(t *testing.T) {
	var body []byte
	var r0 *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		r0 = r
		w.Write([]byte("ok")) // what Slack answers
	}))
	defer srv.Close()
	n, err := New(Options{URL: srv.URL + "/services/T000/B000/XXXX"})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(context.Background(), notifytest.Message()); err != nil {
		t.Fatal(err)
	}
	if r0.Method != http.MethodPost || r0.URL.Path != "/services/T000/B000/XXXX" || r0.Header.Get("Content-Type") != "application/json" {
		t.Errorf("request %s %s %v", r0.Method, r0.URL.Path, r0.Header)
	}
	var p map[string]any
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("hostile text broke the JSON: %v", err)
	}
	text, _ := p["text"].(string)
	if len(p) != 1 || text == "" {
		t.Fatalf("payload = %v", p)
	}
	// Slack's control characters are escaped: no <!channel>, no link, no tag.
	for _, bad := range []string{"<!channel>", "<script>", "</script>"} {
		if strings.Contains(text, bad) {
			t.Errorf("text contains %q unescaped:\n%s", bad, text)
		}
	}
	if !strings.Contains(text, "&lt;!channel&gt;") || !strings.Contains(text, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("hostile text not shown escaped:\n%s", text)
	}
	for _, want := range []string{"sent 600 messages in 10 min", "vigie did: held 412 messages", "Next step: Suspend", "Dashboard: " + notifytest.URL} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "\nBcc:") {
		t.Errorf("hostile newline made a line of its own:\n%s", text)
	}
}
