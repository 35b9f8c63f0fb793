package webapps

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/testutil"
	"github.com/vigie/vigie/internal/vigie"
)

// startNginx runs a real nginx on 127.0.0.1 serving root, logging in the
// vhost format to vhostLog and in plain combined to combinedLog.
func startNginx(t *testing.T, root, vhostLog, combinedLog string) string {
	t.Helper()
	bin := testutil.RequireProgram(t, "nginx")
	prefix := t.TempDir()
	port := testutil.FreePort(t)
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // the workers read the test's 0700 temp dirs
	}
	conf := fmt.Sprintf(`%s
worker_processes 1;
error_log %[2]s/error.log warn;
pid %[2]s/nginx.pid;
events { worker_connections 64; }
http {
  log_format vhost '$host $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"';
  access_log %[3]s vhost;
  access_log %[4]s combined;
  client_body_temp_path %[2]s/body;
  proxy_temp_path %[2]s/proxy;
  fastcgi_temp_path %[2]s/fastcgi;
  uwsgi_temp_path %[2]s/uwsgi;
  scgi_temp_path %[2]s/scgi;
  server {
    listen 127.0.0.1:%[5]d;
    server_name _;
    root %[6]s;
    location ~ \.(bak|old)$ { }
    # A Drupal 7 login block hit by Drupalgeddon 1 answers 500 (PDOException).
    location / { if ($arg_destination = "node") { return 500; } return 200 "ok\n"; }
  }
}
`, user, prefix, vhostLog, combinedLog, port, root)
	cf := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", cf, "-p", prefix, "-g", "daemon off;")
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(filepath.Join(prefix, "error.log"))
			t.Fatalf("nginx exited: %s", b)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("nginx did not listen")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func send(t *testing.T, addr, host, method, target string) int {
	t.Helper()
	// A raw request: net/http would re-encode the attack's URL.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	body := ""
	if method == "POST" {
		body = "form_id=user_register_form&_drupal_ajax=1&mail[#post_render][]=exec&mail[#type]=markup&mail[#markup]=id"
	}
	fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: vigie-test\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		method, target, host, len(body), body)
	resp, err := http.ReadResponse(newReader(c), nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// The integration test: real nginx, real requests, findings from the log
// nginx wrote, followed by the web watch, linked to the Drupal 7.57 it
// serves.
func TestNginxAccessLogIntegration(t *testing.T) {
	now := dataDate(t)
	root := t.TempDir()
	docroot := filepath.Join(root, "old.example")
	testutil.CopyTree(t, "testdata/sites/drupal7", docroot, 0o640)
	os.WriteFile(filepath.Join(docroot, "wp-config.php.bak"), []byte("<?php define('DB_PASSWORD', 'hunter2');"), 0o644)
	logs := t.TempDir()
	vhostLog, combinedLog := filepath.Join(logs, "vhost.log"), filepath.Join(logs, "combined.log")
	addr := startNginx(t, docroot, vhostLog, combinedLog)

	_, c := startWatch(t, WatchOptions{Roots: []string{root}, Scan: ScanOptions{MaxDepth: 2},
		Logs: []LogSource{{Path: vhostLog}, {Path: combinedLog, Site: docroot}}, Now: func() time.Time { return now }})
	c.wait(t, "the Drupal 7.57 install", func(fs []vigie.Finding) bool { return has(fs, "install-vulnerable", docroot, false) })

	// Normal traffic.
	for i := 0; i < 20; i++ {
		send(t, addr, "old.example", "GET", fmt.Sprintf("/node/%d", i))
	}
	send(t, addr, "old.example", "POST", "/contact")
	// Drupalgeddon 2, Drupal 8 and Drupal 7 forms, and Drupalgeddon 1.
	send(t, addr, "old.example", "POST", "/user/register?element_parents=account/mail/%23value&ajax_form=1&_wrapper_format=drupal_ajax")
	send(t, addr, "old.example", "POST", "/?q=user/password&name%5B%23post_render%5D%5B%5D=passthru&name%5B%23type%5D=markup&name%5B%23markup%5D=id")
	send(t, addr, "old.example", "POST", "/?q=node&destination=node")
	send(t, addr, "old.example", "POST", "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php")
	// A config backup that nginx serves.
	if code := send(t, addr, "old.example", "GET", "/wp-config.php.bak"); code != 200 {
		t.Fatalf("backup not served: %d", code)
	}
	// A wp-login.php brute force.
	for i := 0; i < 25; i++ {
		send(t, addr, "blog.example", "POST", "/wp-login.php")
	}

	fs := c.wait(t, "the attacks", func(fs []vigie.Finding) bool {
		return count(fs, "drupalgeddon2") >= 2 && count(fs, "drupalgeddon") >= 2 && count(fs, "wp-login-bruteforce") >= 2 &&
			count(fs, "config-backup-served") >= 2 && count(fs, "phpunit-eval-stdin") >= 2
	})
	for _, f := range fs {
		switch f.Rule {
		case "drupalgeddon2":
			// Both logs link it: by virtual host, and by the site root.
			if f.Severity != vigie.SeverityCritical || f.Evidence["install"] != docroot || f.Group != OwnerGroup(uidOf(t, docroot)) {
				t.Errorf("drupalgeddon2 not linked to %s: %+v", docroot, f)
			}
			if f.Subject != "127.0.0.1" {
				t.Errorf("subject = %q", f.Subject)
			}
		case "post-flood", "drupalgeddon", "install-vulnerable", "config-readable", "wp-login-bruteforce", "config-backup-served", "phpunit-eval-stdin":
		default:
			t.Errorf("unexpected finding %s: %s", f.Rule, f.Summary)
		}
	}
	for _, f := range fs {
		switch {
		case f.Rule == "drupalgeddon" && (f.Evidence["install"] != "" || f.Severity != vigie.SeverityInfo):
			// Drupal 7.57 is past Drupalgeddon 1 (fixed in 7.32): not linked.
			t.Errorf("drupalgeddon linked to a 7.57: %+v", f)
		case f.Rule == "config-backup-served" && (f.Severity != vigie.SeverityCritical || !strings.Contains(f.Evidence["target"], "wp-config.php.bak")):
			t.Errorf("config-backup-served: %+v", f)
		case f.Rule == "wp-login-bruteforce" && f.Evidence["log"] == vhostLog && f.Evidence["vhost"] != "blog.example":
			t.Errorf("vhost not parsed: %+v", f)
		}
	}
}

func count(fs []vigie.Finding, rule string) int {
	n := 0
	for _, f := range fs {
		if f.Rule == rule {
			n++
		}
	}
	return n
}

func uidOf(t *testing.T, path string) int {
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return int(fi.Sys().(*syscall.Stat_t).Uid)
}

func newReader(c net.Conn) *bufio.Reader { return bufio.NewReader(c) }
