package postgres

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/alert"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/store/sqlite"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watches"
)

// BenchmarkStoreWrites measures how fast findings are written, on SQLite
// and on PostgreSQL side by side (the same machine, the PostgreSQL server
// on loopback with fsync off, as pgtest runs it; SQLite in WAL mode with
// synchronous NORMAL):
//
//   - AddFinding: the raw record of one finding.
//   - UpdateAlert: one read-modify-write of an alert (FOR UPDATE on
//     PostgreSQL), 100 keys in turn.
//   - Emit: a finding through the real pipeline (alert, finding, incident
//     and timeline when it fires), 100 accounts in turn, so the first
//     round opens incidents and the rest count.
//   - Emit4: Emit from 4 goroutines at once (GOMAXPROCS if more): on
//     SQLite through one pipeline, as on one machine; on PostgreSQL each
//     through its own pipeline and pool, as 4 nodes on one database.
//
// Figure: findings/s. scripts/bench.d/store.sh prints the ratios.
func BenchmarkStoreWrites(b *testing.B) {
	at := time.Date(2024, 9, 29, 13, 0, 0, 0, time.UTC)
	backends := []struct {
		name string
		open func(b *testing.B) (store.Store, func() store.Store)
	}{
		{"sqlite", func(b *testing.B) (store.Store, func() store.Store) {
			path := filepath.Join(b.TempDir(), "bench.db")
			open := func() store.Store {
				db, err := sqlite.Open(context.Background(), path, sqlite.Options{})
				if err != nil {
					b.Fatal(err)
				}
				return db
			}
			return open(), open
		}},
		{"postgres", func(b *testing.B) (store.Store, func() store.Store) {
			dsn := pg.Database(b)
			open := func() store.Store {
				db, err := Open(context.Background(), dsn, Options{})
				if err != nil {
					b.Fatal(err)
				}
				return db
			}
			return open(), open
		}},
	}
	finding := func(i int) vigie.Finding {
		return vigie.Finding{Watch: "mail", Rule: "account-volume", Subject: fmt.Sprintf("user%d@example.org", i%100),
			Severity: vigie.SeverityWarning, Time: at.Add(time.Duration(i) * time.Millisecond), Summary: "sent 600 mails in 10 minutes",
			Evidence: map[string]string{"messages": "600", "habit": "12"}, Node: "bench"}
	}
	for _, be := range backends {
		b.Run(be.name+"/AddFinding", func(b *testing.B) {
			s, _ := be.open(b)
			defer s.Close()
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := s.AddFinding(ctx, finding(i), 1); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer() // Close (a WAL checkpoint on SQLite) is not a write
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "findings/s")
		})
		b.Run(be.name+"/UpdateAlert", func(b *testing.B) {
			s, _ := be.open(b)
			defer s.Close()
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				f := finding(i)
				if _, err := s.UpdateAlert(ctx, f.AlertKey(), func(a *vigie.Alert) error {
					a.Watch, a.Rule, a.Subject, a.State, a.LastSeen = f.Watch, f.Rule, f.Subject, vigie.AlertFiring, f.Time
					a.Count++
					return nil
				}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer() // Close (a WAL checkpoint on SQLite) is not a write
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "findings/s")
		})
		b.Run(be.name+"/Emit", func(b *testing.B) {
			s, _ := be.open(b)
			defer s.Close()
			p := alert.New(alert.Options{Watches: watches.All(), Store: s, Node: "bench"})
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := p.Emit(ctx, finding(i)); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer() // Close (a WAL checkpoint on SQLite) is not a write
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "findings/s")
		})
		b.Run(be.name+"/Emit4", func(b *testing.B) {
			s, reopen := be.open(b)
			defer s.Close()
			ctx := context.Background()
			// One pipeline per goroutine, made before the clock starts:
			// on PostgreSQL each with its own pool, as a node; on SQLite
			// one pipeline for all, as on one machine.
			par := max(1, 4/runtime.GOMAXPROCS(0))
			n := par * runtime.GOMAXPROCS(0)
			pipes := make(chan *alert.Pipeline, n)
			shared := alert.New(alert.Options{Watches: watches.All(), Store: s, Node: "bench"})
			for i := 0; i < n; i++ {
				if be.name != "postgres" {
					pipes <- shared
					continue
				}
				h := reopen()
				defer h.Close()
				pipes <- alert.New(alert.Options{Watches: watches.All(), Store: h, Node: fmt.Sprintf("node%d", i)})
			}
			var next atomic.Int64
			b.SetParallelism(par)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				p := <-pipes
				for pb.Next() {
					if err := p.Emit(ctx, finding(int(next.Add(1)))); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer() // Close (a WAL checkpoint on SQLite) is not a write
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "findings/s")
		})
	}
}
