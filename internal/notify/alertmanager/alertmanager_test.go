package alertmanager

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/notify"
	"github.com/vigie/vigie/internal/notify/notifytest"
	"github.com/vigie/vigie/internal/testutil"
)

// startAlertmanager runs the real Alertmanager on loopback from a temp
// directory, clustering off, and returns its URL.
func startAlertmanager(t *testing.T) string {
	bin := testutil.RequireProgram(t, "prometheus-alertmanager")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, []byte("route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	port := testutil.FreePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.path="+filepath.Join(dir, "data"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port), "--cluster.listen-address=", "--log.level=warn")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; ; i++ {
		resp, err := http.Get(url + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return url
			}
		}
		if i > 200 {
			t.Fatalf("alertmanager did not become ready: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type gettable struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"startsAt"`
	EndsAt      time.Time         `json:"endsAt"`
	Status      struct {
		State string `json:"state"`
	} `json:"status"`
}

func listAlerts(t *testing.T, url string) []gettable {
	t.Helper()
	resp, err := http.Get(url + "/api/v2/alerts?active=true&silenced=true&inhibited=true&unprocessed=true")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []gettable
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAlertsReachRealAlertmanager(t *testing.T) {
	url := startAlertmanager(t)
	n, err := New(Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	m := notifytest.Message()
	// Alertmanager keeps alerts whose endsAt is in the future: make this one
	// recent.
	now := time.Now().UTC().Truncate(time.Second)
	a := &m.Notifications[0].Alert
	a.FirstSeen, a.LastSeen = now.Add(-time.Minute), now
	if err := n.Notify(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	var got []gettable
	for i := 0; i < 100 && len(got) == 0; i++ {
		got = listAlerts(t, url)
		time.Sleep(20 * time.Millisecond)
	}
	if len(got) != 1 {
		t.Fatalf("alertmanager has %d alerts, want 1", len(got))
	}
	g := got[0]
	if g.Labels["alertname"] != "account-volume" || g.Labels["subject"] != notifytest.Hostile || g.Labels["severity"] != "critical" ||
		g.Labels["watch"] != "mail" || g.Labels["incident"] != "7" || g.Labels["instance"] != "mx1" {
		t.Errorf("labels = %v", g.Labels)
	}
	if g.Annotations["summary"] != a.Summary || !g.StartsAt.Equal(a.FirstSeen) || !g.EndsAt.Equal(now.Add(time.Hour)) {
		t.Errorf("annotations %v, starts %s, ends %s", g.Annotations, g.StartsAt, g.EndsAt)
	}
	if g.Status.State != "active" {
		t.Errorf("state = %q", g.Status.State)
	}

	// The resolution ends it.
	r := m.Notifications[0]
	r.Change, r.Alert.State, r.Alert.ResolvedAt = notify.Resolved, "resolved", now.Add(-time.Second)
	if err := n.Notify(context.Background(), &notify.Message{ID: "abc-2", Notifications: []notify.Notification{r}}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		if got = listAlerts(t, url); len(got) == 0 {
			return // resolved alerts leave the active list
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("alert still active after resolution: %+v", got)
}

func TestStormIsOnePost(t *testing.T) {
	url := startAlertmanager(t)
	n, _ := New(Options{URL: url})
	m := notifytest.Storm(751)
	now := time.Now().UTC()
	for i := range m.Notifications {
		m.Notifications[i].Alert.FirstSeen, m.Notifications[i].Alert.LastSeen = now, now
		m.Notifications[i].Alert.ResolveAfter = time.Hour
	}
	if err := n.Notify(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	var got []gettable
	for i := 0; i < 100 && len(got) < 751; i++ {
		got = listAlerts(t, url)
		time.Sleep(20 * time.Millisecond)
	}
	if len(got) != 751 {
		t.Errorf("alertmanager has %d alerts, want 751", len(got))
	}
}
