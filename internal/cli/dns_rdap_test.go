package cli

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigie/vigie/internal/rdap"
	"github.com/vigie/vigie/internal/rdap/rdaptest"
)

// update-rdap-bootstrap takes a file or a URL, refuses a bad or older
// one, and installs a good one where the watch reads it.
func TestDNSUpdateRDAPBootstrap(t *testing.T) {
	dataDir := t.TempDir()
	srv := rdaptest.Start(t)
	good := srv.Bootstrap("test", "example")
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"publication":"2099-01-01T00:00:00Z","services":[[["test"],["gopher://x/"]]]}`), 0o644)
	code, _, stderr := runCLI(t, nil, "--data", dataDir, "dns", "update-rdap-bootstrap", bad)
	if code != 1 || !strings.Contains(stderr, "not an http(s) URL") {
		t.Fatalf("bad file: code %d, %s", code, stderr)
	}
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(good) }))
	defer web.Close()
	code, stdout, stderr := runCLI(t, nil, "--data", dataDir, "dns", "update-rdap-bootstrap", web.URL+"/dns.json")
	if code != 0 || !strings.Contains(stdout, "2 TLDs") {
		t.Fatalf("good URL: code %d, %s %s", code, stdout, stderr)
	}
	bs, err := rdap.Load(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	if got := bs.Servers("a.example."); len(got) != 1 || got[0] != srv.URL {
		t.Errorf("installed bootstrap sends example. to %v", got)
	}
}
