package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/ct"
	"github.com/vigie/vigie/internal/ct/cttest"
	"github.com/vigie/vigie/internal/dnswatch/knottest"
	"github.com/vigie/vigie/internal/doctor"
	"github.com/vigie/vigie/internal/policy"
	"github.com/vigie/vigie/internal/store/sqlite"
	"github.com/vigie/vigie/internal/testutil"
	"github.com/vigie/vigie/internal/testutil/postfixtest"
	"github.com/vigie/vigie/internal/watches"
	"github.com/vigie/vigie/internal/webapps"
)

var updateDocs = flag.Bool("update", false, "rewrite docs/doctor-*.txt from this run")

type doctorReport struct {
	Checks  []doctor.Check `json:"checks"`
	Summary string         `json:"summary"`
	OK      bool           `json:"ok"`
}

// runDoctorTest runs vigie doctor twice, as JSON and as text, in this
// process or, with a root, on an "empty machine" (runIsolated).
func runDoctorTest(t *testing.T, root string, env map[string]string, args ...string) (int, doctorReport, string) {
	t.Helper()
	run := func(args ...string) (int, string, string) {
		if root != "" {
			return runIsolated(t, root, env, args...)
		}
		return runCLI(t, env, args...)
	}
	code, out, stderr := run(append([]string{"doctor", "--json"}, args...)...)
	var r doctorReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("doctor --json: %v\n%s\n%s", err, out, stderr)
	}
	tcode, text, _ := run(append([]string{"doctor"}, args...)...)
	if tcode != code {
		t.Errorf("exit %d as JSON, %d as text", code, tcode)
	}
	return code, r, text
}

// runIsolated runs the CLI with the usual web access logs looked for
// under root, in this test binary under `unshare --net` (a network
// namespace with no interface but loopback: no public address for the
// blocklist watch to find; TestDoctorHelperProcess), or in this process
// when that cannot be done (not root, no unshare).
func runIsolated(t *testing.T, root string, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	unshare, err := exec.LookPath("unshare")
	if err != nil || os.Geteuid() != 0 {
		t.Logf("not isolated (unshare: %v, euid %d): interface addresses are this machine's", err, os.Geteuid())
		defer rootAccessLogs(root)()
		return runCLI(t, env, args...)
	}
	req, _ := json.Marshal(struct {
		Root string
		Env  map[string]string
		Args []string
	}{root, env, args})
	cmd := exec.Command(unshare, "--net", "--", os.Args[0], "-test.run=^TestDoctorHelperProcess$")
	cmd.Env = append(os.Environ(), "VIGIE_DOCTOR_HELPER="+string(req))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("unshare: %v %s", err, errb.String())
	}
	if code == 99 {
		t.Fatalf("helper: %s", errb.String())
	}
	return code, out.String(), errb.String()
}

// TestDoctorHelperProcess is runIsolated's other end.
func TestDoctorHelperProcess(t *testing.T) {
	req := os.Getenv("VIGIE_DOCTOR_HELPER")
	if req == "" {
		return
	}
	var r struct {
		Root string
		Env  map[string]string
		Args []string
	}
	if err := json.Unmarshal([]byte(req), &r); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(99)
	}
	rootAccessLogs(r.Root)
	os.Exit(Main(context.Background(), Env{Args: r.Args, Stdin: strings.NewReader(""), Stdout: os.Stdout, Stderr: os.Stderr,
		Getenv: func(k string) string { return r.Env[k] }}))
}

// rootAccessLogs makes the web watch look for the usual access logs under
// root; the returned func undoes it.
func rootAccessLogs(root string) func() {
	old := webapps.DefaultAccessLogs
	webapps.DefaultAccessLogs = nil
	for _, l := range old {
		webapps.DefaultAccessLogs = append(webapps.DefaultAccessLogs, root+l)
	}
	return func() { webapps.DefaultAccessLogs = old }
}

func findCheck(t *testing.T, r doctorReport, watch, item string) doctor.Check {
	t.Helper()
	for _, c := range r.Checks {
		if c.Watch == watch && c.Item == item {
			return c
		}
	}
	t.Errorf("no check %s/%s in the report", watch, item)
	return doctor.Check{}
}

// everyWatchAnswers: each watch of the list says something (its
// descriptor's Doctor hook), in the list's order.
func everyWatchAnswers(t *testing.T, r doctorReport) {
	t.Helper()
	var order []string
	for _, c := range r.Checks {
		if len(order) == 0 || order[len(order)-1] != c.Watch {
			order = append(order, c.Watch)
		}
	}
	want := []string{doctor.Self}
	for _, d := range watches.All() {
		want = append(want, string(d.Name))
	}
	want = append(want, doctor.Notifier)
	if strings.Join(order, " ") != strings.Join(want, " ") {
		t.Errorf("the report's parts are %v, want %v (every watch's Doctor, in the list's order)", order, want)
	}
	for _, c := range r.Checks {
		if (c.Status == doctor.Fail || c.Status == doctor.Warn) && c.Fix == "" {
			t.Errorf("%s/%s is %s without a fix: %q", c.Watch, c.Item, c.Status, c.Found)
		}
	}
}

// compareDoc checks docs/doctor-NAME.txt against this run's text (with
// what varies from run to run normalised), or rewrites it under -update.
func compareDoc(t *testing.T, name, header, text string) {
	t.Helper()
	path := filepath.Join("..", "..", "docs", "doctor-"+name+".txt")
	doc := header + text
	if *updateDocs {
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	have, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: run go test ./internal/cli -run '%s' -update", err, t.Name())
	}
	if string(have) != doc {
		a, b := strings.Split(string(have), "\n"), strings.Split(doc, "\n")
		i := 0
		for i < len(a) && i < len(b) && a[i] == b[i] {
			i++
		}
		line := func(ls []string) string {
			if i < len(ls) {
				return ls[i]
			}
			return "(end)"
		}
		t.Errorf("%s differs from what vigie doctor prints now, from line %d:\n  file: %s\n  now:  %s\nif the change is meant, run go test ./internal/cli -run '^%s$' -update\n--- now:\n%s",
			path, i+1, line(a), line(b), t.Name(), doc)
	}
}

// normalise replaces what differs between runs: the strings in replace
// (old, new, ...: directories, addresses), durations and times, sizes and
// counts that depend on timing.
func normalise(text string, replace ...string) string {
	text = strings.NewReplacer(replace...).Replace(text)
	for _, r := range []struct{ re, with string }{
		{`\d+ bytes, written [^)]+\)`, "N bytes, written T)"},
		{`signed \S+ \([^)]+\)`, "signed T (D)"},
		{`\d+ message\(s\) queued, oldest \S+`, "N message(s) queued, oldest D"},
		{`\((\d+(\.\d+)?(ns|µs|ms|s))\)`, "(D)"},
		{`\(\d+ days ago\)`, "(N days ago)"},
		{`after \d+ attempt\(s\)`, "after N attempt(s)"},
	} {
		text = regexp.MustCompile(r.re).ReplaceAllString(text, r.with)
	}
	return text
}

// TestDoctorOnAnEmptyMachine: the package's configuration with every path
// it reads under an empty directory (shown as /), in a network namespace
// of its own. Nothing would be watched: exit 1, each watch off with its
// fix. Its text is docs/doctor-empty.txt.
func TestDoctorOnAnEmptyMachine(t *testing.T) {
	root := t.TempDir()
	etc := filepath.Join(root, "etc", "vigie")
	os.MkdirAll(etc, 0o755)
	cfgPath := filepath.Join(etc, "vigie.yaml")
	example := config.Example
	// the example with its paths under root, and the defaults found at
	// run time (Postfix's directory, the journal) set to theirs under
	// root; the usual access logs are looked for under root too
	// (runIsolated's Root)
	text := regexp.MustCompile(`(?m)(\s|\[)/(var|srv|etc|usr)/`).ReplaceAllString(string(example), "${1}"+root+"/$2/")
	text = strings.Replace(text, "\npostfix:\n  config_dir: \"\"\n", "\npostfix:\n  config_dir: "+root+"/etc/postfix\n", 1)
	text = strings.Replace(text, "  journalctl: journalctl\n", "  journalctl: "+root+"/usr/bin/journalctl\n", 1)
	if !strings.Contains(text, "config_dir: "+root) || !strings.Contains(text, "journalctl: "+root) || !strings.Contains(text, "access_logs: []") {
		t.Fatalf("the example changed shape; adapt the test:\n%s", text)
	}
	os.WriteFile(cfgPath, []byte(text), 0o640)

	code, r, out := runDoctorTest(t, root, map[string]string{"VIGIE_DATA": filepath.Join(root, "var", "lib", "vigie")}, "--config", cfgPath, "--user", "root")
	if code != 1 || r.OK {
		t.Errorf("empty machine: exit %d ok %v, want 1 false", code, r.OK)
	}
	everyWatchAnswers(t, r)
	for _, c := range []struct{ watch, item string }{{"mail", "mail log"}, {"policy", "policy server"}, {"web", "web roots"},
		{"dns", "inventory"}, {"ct", "watchlist"}, {"blocklist", "targets"}} {
		if got := findCheck(t, r, c.watch, c.item); got.Status != doctor.Off || got.Fix == "" {
			t.Errorf("%s/%s = %+v, want off with a fix", c.watch, c.item, got)
		}
	}
	if p := findCheck(t, r, "policy", "policy server"); !strings.Contains(p.Found, "policy.enabled: auto starts nothing: no main.cf in "+root+"/etc/postfix") {
		t.Errorf("policy does not say why: %+v", p)
	}
	if r.Summary != "vigie would watch: nothing; not: mail, policy, dns, ct, web, blocklist" {
		t.Errorf("summary %q", r.Summary)
	}
	compareDoc(t, "empty", `# vigie doctor on an empty machine
#
# The package's configuration (/etc/vigie/vigie.yaml, as vigie config example
# prints it) on a machine with none of what vigie watches: no Postfix, no
# mail log, no web site, no domain configured, no public address. Generated
# by TestDoctorOnAnEmptyMachine (internal/cli/doctor_test.go): every path the
# configuration names lives under an empty directory, shown here as /, and
# vigie doctor runs in a network namespace of its own (--user root: the
# readability checks are not this machine's). The test fails when this file
# differs from what vigie doctor prints; -update rewrites it.
#
# $ vigie doctor --config /etc/vigie/vigie.yaml
`, normalise(out, root+"/", "/"))
}

// TestDoctorOnThePostfixHarness runs vigie doctor against the real test
// Postfix (postfixtest: Postfix and Dovecot from a temporary directory,
// with the lines `vigie postfix-config` prints: the policy server and the
// milter on both paths), vigie's policy server and milter serving there,
// a web root with a site and its access log, a DNS inventory on real Knot
// servers (a registry and a hoster), a CT log on loopback next to one that
// is not there, and a webhook receiver for the test message. Its text is
// docs/doctor-postfix.txt.
func TestDoctorOnThePostfixHarness(t *testing.T) {
	policyAddr := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	milterAddr := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	localAddr := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	lab := postfixtest.Start(t, postfixtest.Options{
		Users: map[string]string{"alice@example.org": "secret"}, Submission: true,
		Main: append(postfixtest.MilterMain(milterAddr, localAddr),
			"smtpd_end_of_data_restrictions = check_policy_service inet:"+policyAddr,
			"smtpd_policy_service_default_action = DUNNO"),
	})
	dns := knottest.NewLab(t, []string{"alpha.", "delta."}, 6)

	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "www", "club", "wp-includes"), 0o755)
	os.WriteFile(filepath.Join(dir, "www", "club", "wp-includes", "version.php"), []byte("<?php\n$wp_version = '6.4.2';\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "access.log"), []byte(`203.0.113.9 - - [04/Dec/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 512 "-" "curl/8.5"`+"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "domains.txt"), []byte("# the registrar's export\n"+strings.Join(dns.Domains, "\n")+"\nnot a domain!\n"), 0o644)

	l, err := cttest.NewLog()
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := cttest.NewCA("Test CA")
	p, _ := ca.Issue([]string{"www.d0.alpha"}, time.Now())
	tbs, _ := ct.PrecertTBS(p.Precert)
	l.AddPrecert(p.Precert, tbs, ca.KeyHash())
	ctSrv := httptest.NewServer(l)
	defer ctSrv.Close()
	gone, _ := cttest.NewLog()
	got := make(chan string, 4)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- string(b)
	}))
	defer hook.Close()

	closedLog := fmt.Sprintf("http://127.0.0.1:%d/", testutil.FreePort(t))
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	cfgPath := filepath.Join(dir, "vigie.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`postfix:
  config_dir: %[1]s
mail:
  source: file
  log_file: %[2]s
policy:
  listen: [%[3]s]
  milter: {listen: "%[4]s", local_listen: "%[5]s"}
web:
  roots: [%[6]s/www]
  access_logs: [{path: %[6]s/access.log}]
blocklist:
  domains: [d0.alpha]
  resolver: 127.0.0.1:53
dns:
  domains_file: %[6]s/domains.txt
  parents: {alpha.: [%[7]s], delta.: [%[7]s]}
  resolver: %[7]s
  child_port: %[8]d
  rdap: {enabled: true}
ct:
  dns_inventory: true
  logs:
    - {name: loopback-log, url: %[9]q, key: %[10]q, api: rfc6962}
    - {name: closed-port-log, url: %[11]q, key: %[12]q, api: rfc6962}
notify:
  webhook:
    - name: ops
      url: %[13]s
      hmac_key: doctor-test-key-0123456789
http:
  listen: %[14]s
`, lab.ConfDir, lab.Log, policyAddr, milterAddr, localAddr, dir, dns.Registry.HostPort(), dns.Port(),
		ctSrv.URL, l.PubB64, closedLog, gone.PubB64, hook.URL, httpAddr)), 0o644)

	// vigie's policy server and milter, as `vigie run` starts them
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "policy.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	srv, err := policy.New(policy.Options{Config: cfg.Policy, Store: db})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { defer close(served); srv.Run(ctx) }()
	defer func() { cancel(); <-served }()
	<-srv.Ready()
	// one message through submission: the log and the queue have a story
	if err := lab.Swaks("alice@example.org", "secret", "alice@example.org", "bob@example.net"); err != nil {
		t.Fatal(err)
	}

	code, r, text := runDoctorTest(t, "", map[string]string{"VIGIE_DATA": filepath.Join(dir, "data")},
		"--config", cfgPath, "--send-test", "--timeout", "5s", "--user", "root")
	if code != 1 || r.OK {
		t.Errorf("exit %d ok %v, want 1 false (one CT log is not there)", code, r.OK)
	}
	everyWatchAnswers(t, r)
	for _, c := range []struct {
		watch, item string
		status      doctor.Status
		found       string
	}{
		{"mail", "mail log", doctor.OK, lab.Log},
		{"mail", "queue", doctor.OK, "postqueue -j reads it"},
		{"policy", "policy server", doctor.OK, "policy.enabled: auto starts it: " + lab.ConfDir + "/main.cf names " + policyAddr},
		{"policy", "policy lines", doctor.OK, "smtpd_end_of_data_restrictions has check_policy_service inet:" + policyAddr},
		{"policy", "milter lines", doctor.OK, "smtpd_milters and non_smtpd_milters name vigie's milter"},
		{"policy", "policy listener " + policyAddr, doctor.OK, "action=DUNNO"},
		{"policy", "milter listener " + milterAddr, doctor.OK, "negotiated"},
		{"policy", "milter listener " + localAddr, doctor.OK, "negotiated"},
		{"web", "web roots", doctor.OK, "www (1 entries)"},
		{"web", "access logs", doctor.OK, "access.log"},
		{"blocklist", "targets", doctor.OK, "d0.alpha"},
		{"dns", "inventory", doctor.Warn, "12 domain(s) under 2 parent zone(s) (alpha. 6, delta. 6)"},
		{"dns", "resolver", doctor.OK, "answers: alpha. is served by ns.alpha."},
		{"dns", "parent servers alpha.", doctor.OK, "1 of 1 server(s) (dns.parents) answer for d0.alpha.: NS ns1.hoster.alpha., ns2.hoster.alpha."},
		{"dns", "parent servers delta.", doctor.OK, "answer for d0.delta."},
		{"dns", "rdap", doctor.Warn, "the one built into vigie"},
		{"ct", "log loopback-log", doctor.OK, "tree of 1 entries"},
		{"ct", "log closed-port-log", doctor.Fail, "connection refused"},
		{"notify", "notifier ops", doctor.OK, "test message delivered"},
	} {
		ch := findCheck(t, r, c.watch, c.item)
		if ch.Status != c.status || !strings.Contains(ch.Found, c.found) {
			t.Errorf("%s/%s = %s %q, want %s and %q", c.watch, c.item, ch.Status, ch.Found, c.status, c.found)
		}
	}
	select {
	case b := <-got:
		if !strings.Contains(b, "test message") {
			t.Errorf("webhook got %s", b)
		}
	case <-time.After(5 * time.Second):
		t.Error("the webhook never got the test message")
	}
	compareDoc(t, "postfix", `# vigie doctor on the test Postfix harness
#
# Generated by TestDoctorOnThePostfixHarness (internal/cli/doctor_test.go)
# against real programs on loopback: Postfix and Dovecot (postfixtest) with
# the lines 'vigie postfix-config' prints, vigie's policy server and milter
# serving there, a web root and its access log, a DNS inventory on Knot
# servers (a registry for alpha. and delta., a hoster), a CT log next to one
# that is not there, a webhook receiving the test message. The test fails
# when this file differs from what vigie doctor prints; -update rewrites it.
# Normalised: the temporary directories (LAB for Postfix's, DIR for the
# rest), ports, random loopback addresses, times, durations and sizes.
#
# $ vigie doctor --config DIR/vigie.yaml --send-test --timeout 5s --user root
`, normalise(text, lab.Dir, "LAB", dir, "DIR",
		ctSrv.URL+"/", "http://127.0.0.1:CT-LOG/", closedLog, "http://127.0.0.1:CLOSED/", strings.TrimSuffix(strings.TrimPrefix(closedLog, "http://"), "/"), "127.0.0.1:CLOSED", hook.URL, "http://127.0.0.1:WEBHOOK",
		policyAddr, "127.0.0.1:POLICY", milterAddr, "127.0.0.1:MILTER", localAddr, "127.0.0.1:MILTER-LOCAL",
		httpAddr, "127.0.0.1:HTTP", dns.Registry.HostPort(), "127.X.Y.1:KNOT"))
}
