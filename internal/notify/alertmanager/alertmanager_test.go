package alertmanager

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/notify"
	"github.com/vigie/vigie/internal/notify/alertmanager/amtest"
	"github.com/vigie/vigie/internal/notify/notifytest"
	"github.com/vigie/vigie/internal/vigie"
)

type gettable struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Status       struct {
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
	url := amtest.Start(t)
	now := time.Now().UTC().Truncate(time.Second)
	clock := now
	n, err := New(Options{URL: url, ResendInterval: time.Minute, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	m := notifytest.Message()
	// Alertmanager keeps alerts whose endsAt is in the future: make this one
	// recent.
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
	if g.Annotations["summary"] != a.Summary || !g.StartsAt.Equal(a.FirstSeen) || !g.EndsAt.Equal(now.Add(4*time.Minute)) {
		t.Errorf("annotations %v, starts %s, ends %s", g.Annotations, g.StartsAt, g.EndsAt)
	}
	if b := notifytest.Brief(); g.Annotations["incident_headline"] != b.Headline || g.Annotations["next_step"] != b.Next ||
		g.Annotations["vigie_did"] != b.Did || g.GeneratorURL != notifytest.URL {
		t.Errorf("the alert does not tell the incident: %v, %q", g.Annotations, g.GeneratorURL)
	}
	if g.Status.State != "active" {
		t.Errorf("state = %q", g.Status.State)
	}

	// The pipeline's refresh pushes endsAt on while vigie still sees it.
	clock = now.Add(2 * time.Minute)
	if err := n.Refresh(context.Background(), []vigie.Alert{*a}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		if got = listAlerts(t, url); len(got) == 1 && got[0].EndsAt.Equal(now.Add(6*time.Minute)) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(got) != 1 || !got[0].EndsAt.Equal(now.Add(6*time.Minute)) || got[0].Labels["subject"] != notifytest.Hostile {
		t.Fatalf("after refresh: %+v", got)
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
	url := amtest.Start(t)
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
