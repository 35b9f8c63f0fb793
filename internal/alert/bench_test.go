package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/notify"
	"github.com/vigie/vigie/internal/notify/alertmanager"
	"github.com/vigie/vigie/internal/notify/alertmanager/amtest"
	"github.com/vigie/vigie/internal/store/sqlite"
	"github.com/vigie/vigie/internal/vigie"
)

// nullNotifier accepts every message, so the benchmark measures vigie.
type nullNotifier struct{ messages int }

func (n *nullNotifier) Name() string                                        { return "null" }
func (n *nullNotifier) Notify(ctx context.Context, m *notify.Message) error { n.messages++; return nil }

const storm = 751

// BenchmarkStorm751 is the third seed incident's storm, 751 hijacked
// domains, from raw alerts to one stored, grouped incident: vigie's
// pipeline (each finding persisted in SQLite with its alert, incident and
// timeline, then one batched message) beside the field's alert grouper,
// a real Alertmanager ingesting the same 751 alerts (until its API lists
// them all). Figures: alerts/s each; scripts/bench.d/incidents.sh prints
// the ratio.
func BenchmarkStorm751(b *testing.B) {
	b.Run("vigie", func(b *testing.B) {
		ctx := context.Background()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "v.db"), sqlite.Options{})
			if err != nil {
				b.Fatal(err)
			}
			nn := &nullNotifier{}
			p := New(Options{Watches: shipped, Store: db, Notifiers: []notify.Notifier{nn}, Dispatch: notify.DispatchOptions{GroupWait: time.Millisecond}})
			t0 := time.Date(2017, 7, 7, 10, 4, 0, 0, time.UTC)
			b.StartTimer()
			for d := 0; d < storm; d++ {
				if err := p.Emit(ctx, vigie.Finding{Watch: "dns", Rule: "ns", Subject: fmt.Sprintf("domain%d.fr", d), Group: "ns=rogue",
					Severity: vigie.SeverityCritical, Time: t0.Add(time.Duration(d) * 8 * time.Second), Summary: "NS changed",
					Evidence: map[string]string{"expected": "a.dns.gandi.net", "observed": "ns1.rogue.example"}}); err != nil {
					b.Fatal(err)
				}
			}
			p.Drain(10 * time.Second)
			b.StopTimer()
			if nn.messages != 1 {
				b.Fatalf("%d messages, want 1", nn.messages)
			}
			db.Close()
			b.StartTimer()
		}
		b.ReportMetric(float64(storm*b.N)/b.Elapsed().Seconds(), "alerts/s")
	})
	b.Run("alertmanager", func(b *testing.B) {
		am := amtest.Start(b)
		client := &http.Client{}
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			now := time.Now().UTC()
			m := &notify.Message{ID: fmt.Sprint(i)}
			for d := 0; d < storm; d++ {
				m.Notifications = append(m.Notifications, notify.Notification{Change: notify.Fired, Alert: vigie.Alert{ID: int64(d + 1),
					Watch: "dns", Rule: "ns", Subject: fmt.Sprintf("domain%d.fr", d), Severity: vigie.SeverityCritical, FirstSeen: now,
					LastSeen: now, ResolveAfter: time.Hour, Node: fmt.Sprintf("iter%d", i), Summary: "NS changed"}})
			}
			body, _ := json.Marshal(alertmanager.Alerts(m, "", now.Add(time.Hour)))
			b.StartTimer()
			resp, err := client.Post(am+"/api/v2/alerts", "application/json", bytes.NewReader(body))
			if err != nil || resp.StatusCode != 200 {
				b.Fatalf("post: %v %v", err, resp)
			}
			resp.Body.Close()
			q := url.Values{"filter": {fmt.Sprintf("instance=%q", fmt.Sprintf("iter%d", i))}}
			for {
				resp, err := client.Get(am + "/api/v2/alerts?" + q.Encode())
				if err != nil {
					b.Fatal(err)
				}
				var got []json.RawMessage
				json.NewDecoder(resp.Body).Decode(&got)
				resp.Body.Close()
				if len(got) == storm {
					break
				}
				time.Sleep(time.Millisecond)
			}
		}
		b.ReportMetric(float64(storm*b.N)/b.Elapsed().Seconds(), "alerts/s")
	})
}
