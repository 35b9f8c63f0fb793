package ct_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/ct"
	"github.com/vigie/vigie/internal/ct/cttest"
	"github.com/vigie/vigie/internal/testutil"

	"database/sql"

	_ "modernc.org/sqlite"
)

// sunlightLog is a Sunlight static-ct-api log running on loopback.
type sunlightLog struct {
	submit     string // the write path, http://127.0.0.1:port
	monitoring string // the read path: the bucket
	origin     string
	key        string // base64 SubjectPublicKeyInfo
	store      *objectStore
}

func sunlightProgram(t *testing.T) string {
	t.Helper()
	if gopath, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(gopath)), "bin", "sunlight")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return testutil.RequireProgram(t, "sunlight")
}

func startSunlight(t *testing.T, ca *cttest.CA) *sunlightLog {
	t.Helper()
	bin := sunlightProgram(t)
	dir := t.TempDir()
	st := newObjectStore()
	s3 := httptest.NewServer(st)
	t.Cleanup(s3.Close)

	db, err := sql.Open("sqlite", filepath.Join(dir, "checkpoints.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE checkpoints (logID BLOB PRIMARY KEY, body TEXT)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	seed := make([]byte, 32)
	rand.Read(seed)
	os.WriteFile(filepath.Join(dir, "seed.bin"), seed, 0o600)
	os.WriteFile(filepath.Join(dir, "roots.pem"), ca.PEM(), 0o644)
	port := testutil.FreePort(t)
	origin := "vigie.test/sunlight"
	now := time.Now()
	cfg := fmt.Sprintf(`listen: 127.0.0.1:%d
checkpoints: %s
logs:
  - name: %s
    shortname: vigietest
    inception: %s
    httpprefix: ""
    roots: %s
    seed: %s
    cache: %s
    poolsize: 2000
    s3region: us-east-1
    s3bucket: ctlog
    s3endpoint: %s
    notafterstart: %s
    notafterlimit: %s
`, port, filepath.Join(dir, "checkpoints.db"), origin, now.Format(time.DateOnly), filepath.Join(dir, "roots.pem"),
		filepath.Join(dir, "seed.bin"), filepath.Join(dir, "cache.db"), s3.URL,
		now.Add(-365*24*time.Hour).UTC().Format(time.RFC3339), now.Add(3*365*24*time.Hour).UTC().Format(time.RFC3339))
	os.WriteFile(filepath.Join(dir, "sunlight.yaml"), []byte(cfg), 0o644)

	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "-c", filepath.Join(dir, "sunlight.yaml"))
	cmd.Dir = dir
	cmd.Env = []string{"HOME=" + dir, "PATH=/usr/bin:/bin", "AWS_ACCESS_KEY_ID=vigie", "AWS_SECRET_ACCESS_KEY=vigie",
		"AWS_EC2_METADATA_DISABLED=true", "TZ=" + os.Getenv("TZ")}
	var logs bytes.Buffer
	cmd.Stderr = &logs
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			t.Logf("sunlight log:\n%s", logs.String())
		}
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	var home []byte
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(base + "/")
		if err == nil {
			home, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) || cmd.ProcessState != nil {
			t.Fatalf("sunlight did not start: %v\n%s", err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Its home page shows the public key it derived from the seed.
	i := bytes.Index(home, []byte("-----BEGIN PUBLIC KEY-----"))
	if i < 0 {
		t.Fatalf("no public key on sunlight's home page:\n%s", home)
	}
	blk, _ := pem.Decode(home[i:])
	if blk == nil {
		t.Fatal("bad public key PEM")
	}
	if _, err := x509.ParsePKIXPublicKey(blk.Bytes); err != nil {
		t.Fatal(err)
	}
	return &sunlightLog{submit: base, monitoring: s3.URL + "/ctlog", origin: origin,
		key: base64.StdEncoding.EncodeToString(blk.Bytes), store: st}
}

// add submits a chain through add-chain or add-pre-chain.
func (s *sunlightLog) add(t *testing.T, endpoint string, leaf, root []byte) {
	body, _ := json.Marshal(map[string][]string{"chain": {base64.StdEncoding.EncodeToString(leaf), base64.StdEncoding.EncodeToString(root)}})
	resp, err := http.Post(s.submit+"/ct/v1/"+endpoint, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Error(err)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Errorf("%s: HTTP %d: %s", endpoint, resp.StatusCode, b)
	}
}

func TestSunlightStaticCTAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts sunlight")
	}
	e := newEnv(t)
	sl := startSunlight(t, e.ca)
	type cert struct {
		names   []string
		precert bool
	}
	certs := []cert{
		{[]string{"www.example.com", "example.com"}, true},
		{[]string{"mail.example.com"}, false},
		{[]string{"xn--bcher-kva.example"}, true},
		{[]string{"www.example.net"}, true},
		{[]string{"example.com.attacker.org"}, false},
		{[]string{"exact.net"}, false},
		{[]string{"sub.exact.net"}, true},
	}
	var wg sync.WaitGroup
	var fillers int
	for i, c := range certs {
		p, err := e.ca.Issue(c.names, time.Now().Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if c.precert {
				sl.add(t, "add-pre-chain", p.Precert, e.ca.DER)
			}
			sl.add(t, "add-chain", p.Cert, e.ca.DER)
		}()
		_ = i
	}
	// Enough unwatched certificates for a full data tile and a partial one.
	for i := 0; i < 300; i++ {
		p, err := e.ca.Issue([]string{fmt.Sprintf("host%d.unwatched.org", i)}, time.Now().Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		fillers++
		wg.Add(1)
		go func() { defer wg.Done(); sl.add(t, "add-chain", p.Cert, e.ca.DER) }()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	total := int64(fillers + 7 + 4)

	c := config.Default().CT
	c.Watchlist = []string{"example.com", "bücher.example", "=exact.net"}
	c.Logs = []config.CTLog{{Name: "sunlight", URL: sl.monitoring, Key: sl.key, API: "static", Origin: sl.origin}}
	c.Start = "beginning"
	c.PollInterval = 50 * time.Millisecond
	c.VerifyEvery = 200 // one window ends inside the tree: checked through hash tiles
	c.RateLimit = 0
	k, _ := ct.ParseLogKey(sl.key)
	run(t, e.watch(t, c, nil), func() bool {
		p, _ := ct.Position(context.Background(), e.db, k)
		return p == total
	})
	got := names(e.findings(t, "certificate"))
	want := []string{"exact.net", "mail.example.com", "www.example.com,example.com", "xn--bcher-kva.example"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("findings for %q, want %q", got, want)
	}

	// ct check's mode, and the same log read by a monitor that is lied to.
	var matches []string
	var mu sync.Mutex
	c2 := c
	w, err := ct.New(ct.Options{CT: c2, Store: e.db, Once: true, OnMatch: func(m ct.CertMatch) {
		mu.Lock()
		matches = append(matches, strings.Join(m.Info.Names, ","))
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(matches) != 0 {
		t.Errorf("ct check from the saved position found %q", matches)
	}

	// A monitor that starts at the end takes the tree's frontier from the
	// hash tiles, then sees what is logged next.
	e3 := newEnv(t)
	c3 := c
	c3.Start = "end"
	w3 := e3.watch(t, c3, nil)
	ctx3, cancel3 := context.WithCancel(context.Background())
	done3 := make(chan struct{})
	go func() { defer close(done3); w3.Run(ctx3) }()
	for start := time.Now(); ; {
		if p, _ := ct.Position(context.Background(), e3.db, k); p == total {
			break
		}
		if time.Since(start) > 15*time.Second {
			cancel3()
			<-done3
			t.Fatal("the monitor starting at the end did not reach the head")
		}
		time.Sleep(20 * time.Millisecond)
	}
	p, err := e.ca.Issue([]string{"late.example.com"}, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	sl.add(t, "add-chain", p.Cert, e.ca.DER)
	deadline := time.Now().Add(15 * time.Second)
	for len(e3.findings(t, "certificate")) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel3()
	<-done3
	if got := names(e3.findings(t, "certificate")); len(got) != 1 || got[0] != "late.example.com" {
		t.Errorf("started at the end, found %q", got)
	}

	e2 := newEnv(t)
	sl.store.tamper.Store(true)
	run(t, e2.watch(t, c, nil), func() bool { return len(e2.findings(t, "log-inconsistent")) > 0 })
	if n := len(e2.findings(t, "certificate")); n != 0 {
		t.Errorf("%d certificates reported from a tampered tile", n)
	}
	if p, _ := ct.Position(context.Background(), e2.db, k); p != 0 {
		t.Errorf("position %d recorded from a tampered tile", p)
	}
}
