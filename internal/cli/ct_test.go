package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/alert"
	"github.com/vigie/vigie/internal/ct"
	"github.com/vigie/vigie/internal/ct/cttest"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/store/sqlite"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watches"
)

func TestCTCheckPrintsWatchedCertificates(t *testing.T) {
	l, err := cttest.NewLog()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(l)
	defer srv.Close()
	ca, _ := cttest.NewCA("Test CA")
	for _, names := range [][]string{{"www.example.com"}, {"<b>evil</b>\x1b[31m.example.com"}, {"other.org"}} {
		p, err := ca.Issue(names, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		l.AddCert(p.Cert)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "vigie.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`ct:
  watchlist: [example.com]
  expected_issuers: {example.com: [letsencrypt.org]}
  start: beginning
  logs:
    - {name: test, url: %q, key: %q, api: rfc6962}
`, srv.URL, l.PubB64)), 0o644)

	code, out, errs := runCLI(t, nil, "--data", dir, "ct", "check", "--config", cfg, "--json")
	if code != exitFail {
		t.Fatalf("exit %d, stderr %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("output %q", out)
	}
	var m ctMatchJSON
	if err := json.Unmarshal([]byte(lines[1]), &m); err != nil {
		t.Fatal(err)
	}
	if m.Names[0] != "<b>evil</b>\x1b[31m.example.com" || m.Expected == nil || *m.Expected || m.Index != 1 {
		t.Errorf("match %+v", m)
	}
	if strings.Contains(lines[1], "<b>") || strings.Contains(lines[1], "\x1b") {
		t.Errorf("names not escaped in %q", lines[1])
	}
	code, out, _ = runCLI(t, nil, "--data", dir, "ct", "check", "--config", cfg)
	if code != exitFail || strings.Contains(out, "\x1b") || !strings.Contains(out, `"www.example.com"`) {
		t.Errorf("text output %q", out)
	}

	// Nothing to watch is a usage error.
	os.WriteFile(cfg, []byte("ct:\n  start: beginning\n"), 0o644)
	if code, _, _ := runCLI(t, nil, "--data", dir, "ct", "check", "--config", cfg); code != exitUsage {
		t.Errorf("exit %d without a watchlist", code)
	}
}

func TestCTKnownGoodResolvesTheAlert(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "vigie.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fp := strings.Repeat("ab", 32)
	f := vigie.Finding{Watch: "ct", Rule: "certificate", Subject: "example.com", Key: "ct/certificate/" + strings.Repeat("cd", 32),
		Severity: vigie.SeverityCritical, Time: time.Now(), Evidence: map[string]string{"sha256": fp, "tbs_sha256": strings.Repeat("cd", 32)}}
	if err := alert.New(alert.Options{Watches: watches.All(), Store: db}).Emit(ctx, f); err != nil {
		t.Fatal(err)
	}
	db.Close()

	if code, _, _ := runCLI(t, nil, "--data", dir, "ct", "known-good", "nothex"); code != exitUsage {
		t.Errorf("bad fingerprint: exit %d", code)
	}
	code, out, errs := runCLI(t, nil, "--data", dir, "ct", "known-good", "--note", "renewal by our ACME client", strings.ToUpper(fp))
	if code != exitOK || !strings.Contains(out, "1 alert(s) resolved") {
		t.Fatalf("exit %d: %s %s", code, out, errs)
	}
	db, _ = sqlite.Open(ctx, filepath.Join(dir, "vigie.db"), sqlite.Options{})
	defer db.Close()
	as, _ := db.ListAlerts(ctx, store.AlertQuery{Watch: "ct"})
	if len(as) != 1 || as[0].State != vigie.AlertResolved {
		t.Errorf("alerts %+v", as)
	}
	if _, err := db.GetState(ctx, "ct", "known-good/"+strings.Repeat("cd", 32)); err != nil {
		t.Errorf("TBS hash not marked: %v", err)
	}
	au, _ := db.ListAudit(ctx, store.AuditQuery{Action: "ct.known-good"})
	if len(au) != 1 || au[0].Target != fp {
		t.Errorf("audit %+v", au)
	}
}

func TestCTLogList(t *testing.T) {
	l, _ := cttest.NewLog()
	file := filepath.Join(t.TempDir(), "log_list.json")
	os.WriteFile(file, l.LogListJSON("https://ct.example/log/"), 0o644)
	code, out, errs := runCLI(t, nil, "--data", t.TempDir(), "ct", "loglist", file)
	if code != exitOK || !strings.Contains(out, "url: https://ct.example/log/") || !strings.Contains(out, l.PubB64) {
		t.Errorf("exit %d: %s %s", code, out, errs)
	}
	os.WriteFile(file, []byte("{broken"), 0o644)
	if code, _, _ := runCLI(t, nil, "--data", t.TempDir(), "ct", "loglist", file); code != exitFail {
		t.Errorf("broken JSON: exit %d", code)
	}
	if _, err := ct.ParseLogList([]byte(`{"operators":[]}`), false); err == nil {
		t.Error("empty list accepted")
	}
}
