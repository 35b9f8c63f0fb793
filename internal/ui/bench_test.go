package ui

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/vigie/vigie/internal/demo"
	"github.com/vigie/vigie/internal/store"
)

// BenchmarkPage renders the pages over the demo's four incidents (about
// 1,300 findings replayed through the detectors, 752 alerts in the hijack
// incident, the replay's graph points).
func BenchmarkPage(b *testing.B) {
	f := newFixture(b, false)
	if _, err := demo.Load(context.Background(), f.pipeline, f.db, demo.Scenarios(), f.clock.Now()); err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(f.srv.Handler())
	defer ts.Close()
	hijack := ""
	ins, err := f.db.ListIncidents(context.Background(), store.IncidentQuery{})
	if err != nil {
		b.Fatal(err)
	}
	for _, in := range ins {
		if strings.HasPrefix(in.Key, "dns/") {
			hijack = "/incidents/" + strconv.FormatInt(in.ID, 10)
		}
	}
	for _, p := range []struct{ name, path string }{
		{"overview-day", "/"},
		{"overview-week", "/?range=week"},
		{"incident-751-domains", hijack},
		{"watch-mail-week", "/watches/mail?range=week"},
		{"watch-dns", "/watches/dns"},
		{"api-overview", "/api/v1/overview"},
	} {
		b.Run(p.name, func(b *testing.B) {
			var bytes int64
			for b.Loop() {
				resp, err := http.Get(ts.URL + p.path)
				if err != nil {
					b.Fatal(err)
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("%s = %d", p.path, resp.StatusCode)
				}
				bytes = n
			}
			b.ReportMetric(float64(bytes), "bytes/page")
		})
	}
}

// BenchmarkPasswordCheck is the CPU one login costs with the production
// argon2id parameters (DefaultArgon2, 46 MiB).
func BenchmarkPasswordCheck(b *testing.B) {
	h, err := (&Users{Params: DefaultArgon2}).hash("correct horse battery")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if !checkPassword(h, "correct horse battery") {
			b.Fatal("refused")
		}
	}
}
