package webhook

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/notify"
	"github.com/vigie/vigie/internal/notify/notifytest"
)

func TestSignedJSONReachesReceiver(t *testing.T) {
	key := []byte("s3cret-hmac-key")
	now := notifytest.T0
	type got struct {
		r    *http.Request
		body []byte
	}
	recv := make(chan got, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		recv <- got{r, b}
	}))
	defer srv.Close()
	n, err := New(Options{Name: "hook", URL: srv.URL + "/hooks/vigie", HMACKey: string(key), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	m := notifytest.Message()
	if err := n.Notify(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	g := <-recv
	if g.r.Method != http.MethodPost || g.r.URL.Path != "/hooks/vigie" || g.r.Header.Get("Content-Type") != "application/json" ||
		g.r.Header.Get("X-Vigie-Message") != "abc-1" {
		t.Errorf("request %s %s %v", g.r.Method, g.r.URL.Path, g.r.Header)
	}
	if err := Verify(key, g.r.Header, g.body, now, 5*time.Minute); err != nil {
		t.Errorf("signature: %v", err)
	}
	if err := Verify([]byte("other key"), g.r.Header, g.body, now, 5*time.Minute); err == nil {
		t.Error("a wrong key verified")
	}
	if err := Verify(key, g.r.Header, g.body, now.Add(time.Hour), 5*time.Minute); err == nil {
		t.Error("an hour-old delivery verified (replay)")
	}
	var p Payload
	if err := json.Unmarshal(g.body, &p); err != nil {
		t.Fatalf("hostile text broke the JSON: %v\n%s", err, g.body)
	}
	c := p.Changes[0]
	if p.Version != 1 || len(p.Changes) != 1 || c.Alert.Subject != notifytest.Hostile || c.Alert.Evidence["helo"] != notifytest.Hostile ||
		c.Change != "fired" || c.Incident == nil || c.Incident.ID != 7 || c.Alert.Severity != "critical" {
		t.Errorf("payload = %+v", p)
	}
	if b := notifytest.Brief(); c.Incident == nil || c.Incident.Headline != b.Headline || c.Incident.Did != b.Did || c.Incident.Next != b.Next ||
		c.Incident.URL != notifytest.URL || !strings.Contains(p.Title, "sent 600 messages in 10 min") {
		t.Errorf("the payload does not tell the incident: %+v, title %q", c.Incident, p.Title)
	}
}

func TestStatusesClassified(t *testing.T) {
	for _, tc := range []struct {
		status     int
		retryAfter string
		permanent  bool
		wait       time.Duration
	}{
		{200, "", false, 0},
		{500, "", false, 0},
		{503, "7", false, 7 * time.Second},
		{429, "3", false, 3 * time.Second},
		{400, "", true, 0},
		{404, "", true, 0},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tc.retryAfter != "" {
				w.Header().Set("Retry-After", tc.retryAfter)
			}
			w.WriteHeader(tc.status)
		}))
		n, _ := New(Options{URL: srv.URL})
		err := n.Notify(context.Background(), notifytest.Message())
		srv.Close()
		if (err == nil) != (tc.status == 200) || notify.IsPermanent(err) != tc.permanent {
			t.Errorf("HTTP %d: err %v, permanent %v", tc.status, err, notify.IsPermanent(err))
		}
		if d, _ := notify.RetryAfter(err); d != tc.wait {
			t.Errorf("HTTP %d: retry after %s, want %s", tc.status, d, tc.wait)
		}
	}
}
