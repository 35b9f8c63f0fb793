package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/ct"
	"github.com/vigie/vigie/internal/ct/cttest"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/store/sqlite"
)

// TestCTResumesAfterKill9 kills vigie in the middle of catching up a CT
// log and starts it again: every certificate for a watched domain is
// reported exactly once.
func TestCTResumesAfterKill9(t *testing.T) {
	l, err := cttest.NewLog()
	if err != nil {
		t.Fatal(err)
	}
	l.MaxBatch = 2
	srv := httptest.NewServer(l)
	defer srv.Close()
	ca, _ := cttest.NewCA("Test CA")
	const certs = 60
	for i := 0; i < certs; i++ {
		p, err := ca.Issue([]string{fmt.Sprintf("host%02d.example.com", i)}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		tbs, _ := ct.PrecertTBS(p.Precert)
		l.AddPrecert(p.Precert, tbs, ca.KeyHash())
		l.AddCert(p.Cert)
		u, _ := ca.Issue([]string{fmt.Sprintf("host%02d.example.org", i)}, time.Now())
		l.AddCert(u.Cert)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "vigie.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`http:
  listen: 127.0.0.1:0
notify:
  log:
    enabled: false
ct:
  watchlist: [example.com]
  start: beginning
  batch_size: 2
  verify_every: 6
  rate_limit: 60
  poll_interval: 100ms
  logs:
    - {name: test, url: %q, key: %q, api: rfc6962}
`, srv.URL, l.PubB64)), 0o600)

	count := func() (int, []string) {
		db, err := sqlite.Open(context.Background(), filepath.Join(dir, "vigie.db"), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		fs, err := db.ListFindings(context.Background(), store.FindingQuery{Watch: "ct", Limit: 10000})
		if err != nil {
			return 0, nil
		}
		var names []string
		for _, f := range fs {
			if f.Rule == "certificate" {
				names = append(names, f.Evidence["names"])
			}
		}
		return len(names), names
	}
	position := func() int64 {
		db, err := sqlite.Open(context.Background(), filepath.Join(dir, "vigie.db"), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		k, _ := ct.ParseLogKey(l.PubB64)
		p, _ := ct.Position(context.Background(), db, k)
		return p
	}

	d := startDaemon(t, []string{"VIGIE_DATA=" + dir}, "--config", cfg)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if n, _ := count(); n >= 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no findings; log:\n%s", d.stderr.buf.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	d.cmd.Process.Signal(syscall.SIGKILL)
	d.cmd.Wait()
	if n, _ := count(); n >= certs {
		t.Fatalf("caught up (%d findings) before the kill; slow the log down", n)
	}

	d = startDaemon(t, []string{"VIGIE_DATA=" + dir}, "--config", cfg)
	deadline = time.Now().Add(30 * time.Second)
	for position() < l.Size() {
		if time.Now().After(deadline) {
			t.Fatalf("not caught up after restart; log:\n%s", d.stderr.buf.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	d.cmd.Wait()
	n, names := count()
	sort.Strings(names)
	if n != certs {
		t.Errorf("%d findings after kill -9 and restart, want %d", n, certs)
	}
	for i := 1; i < len(names); i++ {
		if names[i] == names[i-1] {
			t.Errorf("%s reported twice", names[i])
		}
	}
}
