package cli

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNotifyTest(t *testing.T) {
	got := make(chan string, 1)
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got <- r.Header.Get("X-Vigie-Signature") }))
	defer ok.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotFound) }))
	defer down.Close()
	cfg := filepath.Join(t.TempDir(), "vigie.yaml")
	os.WriteFile(cfg, []byte("notify:\n  log: {enabled: false}\n  webhook: [{name: hook, url: \""+ok.URL+"\", hmac_key: k}]\n  slack: [{url: \""+down.URL+"\"}]\n"), 0o600)
	out, _, code := run(t, t.TempDir(), "notify", "test", "--config", cfg)
	if code != 1 || !strings.Contains(out, "hook: delivered\n") || !strings.Contains(out, "slack: failed: HTTP 404") {
		t.Errorf("%d %q", code, out)
	}
	if sig := <-got; !strings.HasPrefix(sig, "sha256=") {
		t.Errorf("signature %q", sig)
	}
	out, _, code = run(t, t.TempDir(), "notify", "test", "--config", cfg, "--notifier", "hook")
	if code != 0 || out != "hook: delivered\n" {
		t.Errorf("%d %q", code, out)
	}
	<-got
	if _, errs, code := run(t, t.TempDir(), "notify", "test", "--config", cfg, "--notifier", "nope"); code != 2 || !strings.Contains(errs, `no notifier named "nope"`) {
		t.Errorf("%d %q", code, errs)
	}
}
