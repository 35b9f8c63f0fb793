package main

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/ui"
)

// `vigie demo` on a fresh machine: four incidents on the dashboard, and
// the throwaway store is gone once it stops.
func TestDemoShowsTheFourScenarios(t *testing.T) {
	cmd := exec.Command(binary, "demo", "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	urlRe := regexp.MustCompile(`^Dashboard: (http://127\.0\.0\.1:\d+/)$`)
	dirRe := regexp.MustCompile(`loaded into (\S+)$`)
	var url, dir string
	timeout := time.After(60 * time.Second)
	for url == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("vigie demo exited before printing the URL")
			}
			if m := urlRe.FindStringSubmatch(l); m != nil {
				url = m[1]
			}
			if m := dirRe.FindStringSubmatch(l); m != nil {
				dir = m[1]
			}
		case <-timeout:
			t.Fatal("vigie demo printed no URL within 60s")
		}
	}
	resp, err := http.Get(url + "api/v1/incidents")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Incidents []struct{ Title, State string }
	}
	json.NewDecoder(resp.Body).Decode(&v)
	resp.Body.Close()
	// Four scenarios in four incidents: the certificate issued during the
	// hijack is in the DNS incident; the queue that Yahoo's deferrals make
	// climb is the server's own incident.
	if len(v.Incidents) != 4 {
		t.Fatalf("demo shows %d incidents, want 4: %+v", len(v.Incidents), v.Incidents)
	}
	resp, err = http.Get(url + "api/v1/alerts?watch=ct")
	if err != nil {
		t.Fatal(err)
	}
	var ct struct {
		Alerts []struct {
			IncidentID int64 `json:"incident_id"`
		}
	}
	json.NewDecoder(resp.Body).Decode(&ct)
	resp.Body.Close()
	if len(ct.Alerts) != 1 || ct.Alerts[0].IncidentID == 0 {
		t.Errorf("demo's certificate alert: %+v, want one, in an incident", ct.Alerts)
	}
	for _, p := range []string{"", "incidents/1", "watches/mail", "watches/dns", "watches/ct", "watches/web"} {
		resp, err := http.Get(url + p)
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("GET /%s: %v %v", p, resp.StatusCode, err)
		}
		resp.Body.Close()
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("vigie demo exited with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("vigie demo did not stop on SIGTERM")
	}
	if _, err := os.Stat(dir); dir == "" || !os.IsNotExist(err) {
		t.Errorf("the demo store %q was not removed: %v", dir, err)
	}
}

func writeTestCert(t *testing.T, dir string) (string, string, *x509.CertPool) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vigie test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	c, k := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(c, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(k, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return c, k, pool
}

// `vigie user add` then `vigie run` with TLS: the API answers only after
// a login with the password and the TOTP code the command printed.
func TestUserAddAndTLSLogin(t *testing.T) {
	dir := t.TempDir()
	cert, key, pool := writeTestCert(t, dir)
	cfg := filepath.Join(dir, "vigie.yaml")
	os.WriteFile(cfg, []byte("http:\n  listen: 127.0.0.1:0\n  tls_cert: "+cert+"\n  tls_key: "+key+"\n"), 0o600)
	env := []string{"VIGIE_DATA=" + filepath.Join(dir, "data"), "VIGIE_CONFIG=" + cfg}

	code, out, errOut := runIn(t, "correct horse battery\n", env, "user", "add", "alice")
	if code != 0 {
		t.Fatalf("user add = %d: %s", code, errOut)
	}
	m := regexp.MustCompile(`TOTP secret for alice: ([A-Z2-7]+)`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "otpauth://totp/vigie:alice?") {
		t.Fatalf("user add output: %s", out)
	}
	secret := m[1]
	if code, _, errOut := runIn(t, "correct horse battery\n", env, "user", "add", "alice"); code != 1 || !strings.Contains(errOut, "already exists") {
		t.Errorf("adding alice twice = %d %s", code, errOut)
	}
	if code, _, errOut := runIn(t, "short\n", env, "user", "add", "bob"); code != 1 || !strings.Contains(errOut, "at least 12") {
		t.Errorf("short password = %d %s", code, errOut)
	}
	if code, _, _ := runIn(t, "", env, "user", "add"); code != 2 {
		t.Errorf("user add without a name = %d", code)
	}
	if code, _, errOut := runIn(t, "a new long password\n", env, "user", "passwd", "alice"); code != 0 {
		t.Fatalf("passwd = %d %s", code, errOut)
	}

	d := startDaemon(t, env)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	base := "https://" + d.addr
	if _, err := http.Get("http://" + d.addr + "/api/v1/incidents"); err == nil {
		// Plain HTTP on the TLS port gets a TLS alert or a 400, never data.
		resp, _ := http.Get("http://" + d.addr + "/api/v1/incidents")
		if resp != nil && resp.StatusCode == 200 {
			t.Error("plain HTTP answered")
		}
	}
	get := func(path string) int {
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := get("/api/v1/incidents"); st != http.StatusUnauthorized {
		t.Fatalf("before login: %d", st)
	}
	if st := get("/healthz"); st != 200 {
		t.Errorf("healthz needs no login: %d", st)
	}
	login := func(password string) int {
		totp, _ := ui.TOTPCode(secret, time.Now())
		body, _ := json.Marshal(map[string]string{"user": "alice", "password": password, "code": totp})
		resp, err := c.Post(base+"/api/v1/login", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := login("correct horse battery"); st != http.StatusUnauthorized {
		t.Errorf("old password after passwd: %d", st)
	}
	if st := login("a new long password"); st != 200 {
		t.Fatalf("login: %d", st)
	}
	if st := get("/api/v1/incidents"); st != 200 {
		t.Errorf("after login: %d", st)
	}
	if st := get("/metrics"); st != 200 {
		t.Errorf("metrics after login: %d", st)
	}

	// A lost phone: a new secret; the old one stops working.
	code, out, _ = runIn(t, "", env, "user", "totp", "alice")
	if code != 0 || !strings.Contains(out, "TOTP secret for alice: ") || strings.Contains(out, secret) {
		t.Errorf("user totp = %d %s", code, out)
	}
	if code, _, errOut := runIn(t, "", env, "user", "totp", "nobody"); code != 1 || !strings.Contains(errOut, "no such user") {
		t.Errorf("totp of a missing user = %d %s", code, errOut)
	}
}
