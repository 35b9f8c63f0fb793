package dist

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/vigie/vigie/internal/ct"
	"github.com/vigie/vigie/internal/ct/cttest"
	"github.com/vigie/vigie/internal/testutil"
)

// TestRulesPassPromtool runs Prometheus's own checker on the shipped rules.
func TestRulesPassPromtool(t *testing.T) {
	promtool := testutil.RequireProgram(t, "promtool")
	out, err := exec.Command(promtool, "check", "rules", filepath.Join("prometheus", "vigie.rules.yml")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "SUCCESS") {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

// metricName finds the series names in a PromQL expression: vigie's own
// (vigie_*) and Prometheus's up.
var metricName = regexp.MustCompile(`\b(vigie_[a-z0-9_]+|up)\b`)

// expressions returns every PromQL expression of the rules and the
// dashboard, each with where it is.
func expressions(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	var rules struct {
		Groups []struct {
			Name  string
			Rules []struct {
				Alert string
				Expr  string
			}
		}
	}
	b, err := os.ReadFile(filepath.Join("prometheus", "vigie.rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &rules); err != nil {
		t.Fatal(err)
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			out["rule "+r.Alert] = r.Expr
		}
	}
	b, err = os.ReadFile(filepath.Join("grafana", "vigie.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title      string
		UID        string `json:"uid"`
		Templating struct {
			List []struct {
				Name  string
				Query any
			}
		}
		Panels []struct {
			Title   string
			Type    string
			Targets []struct {
				Expr string
			}
		}
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&dash); err != nil {
		t.Fatalf("grafana/vigie.json is not JSON: %v", err)
	}
	if dash.Title == "" || dash.UID == "" {
		t.Errorf("dashboard without title or uid")
	}
	n := 0
	for _, p := range dash.Panels {
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for i, tg := range p.Targets {
			out[fmt.Sprintf("panel %q query %d", p.Title, i)] = tg.Expr
			n++
		}
	}
	for _, v := range dash.Templating.List {
		if q, ok := v.Query.(map[string]any); ok {
			out["variable "+v.Name] = fmt.Sprint(q["query"])
		}
	}
	if n < 15 {
		t.Errorf("only %d dashboard queries", n)
	}
	return out
}

// TestRulesAndDashboardNameRealMetrics starts vigie with every watch on
// real inputs on loopback (a mail log, a CT log, a web root, a DNS
// inventory, a policy client, a webhook receiver), scrapes /metrics through
// http.metrics_listen with the bearer token as a remote Prometheus would,
// and checks every expression of the rules and the dashboard names a
// metric found there.
func TestRulesAndDashboardNameRealMetrics(t *testing.T) {
	exprs := expressions(t)
	exported := scrapeRunningVigie(t)
	for where, e := range exprs {
		names := metricName.FindAllString(e, -1)
		if len(names) == 0 {
			t.Errorf("%s: %q names no metric", where, e)
		}
		for _, n := range names {
			if n == "up" {
				continue // Prometheus's own, per scrape target
			}
			if !exported[n] {
				t.Errorf("%s: %s is not exported by vigie (expression %q)", where, n, e)
			}
		}
	}
}

// family strips the suffixes a histogram or summary adds to its name.
func family(name string) string {
	for _, s := range []string{"_bucket", "_sum", "_count"} {
		name = strings.TrimSuffix(name, s)
	}
	return name
}

func scrapeRunningVigie(t *testing.T) map[string]bool {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "vigie")
	build := exec.Command("go", "build", "-o", bin, "./cmd/vigie")
	build.Dir = repoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	// A CT log with a certificate for a watched domain: an alert fires,
	// and the webhook hears of it.
	l, err := cttest.NewLog()
	if err != nil {
		t.Fatal(err)
	}
	ctSrv := httptest.NewServer(l)
	defer ctSrv.Close()
	ca, _ := cttest.NewCA("Test CA")
	for i := 0; i < 3; i++ {
		p, err := ca.Issue([]string{fmt.Sprintf("www%d.example.com", i)}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		tbs, _ := ct.PrecertTBS(p.Precert)
		l.AddPrecert(p.Precert, tbs, ca.KeyHash())
		l.AddCert(p.Cert)
	}
	hooks := make(chan struct{}, 100)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case hooks <- struct{}{}:
		default:
		}
	}))
	defer hook.Close()

	// A Postfix log: authenticated submission, a local pickup, deliveries.
	now := time.Now()
	var log strings.Builder
	for i := 0; i < 20; i++ {
		ts := now.Add(time.Duration(i-20) * 6 * time.Second).Format("2006-01-02T15:04:05.000000-07:00")
		id := fmt.Sprintf("ABCDEF%04X", i) // a short (hex) queue id
		if i%2 == 0 {
			fmt.Fprintf(&log, "%s mail postfix/submission/smtpd[1%03d]: %s: client=unknown[198.51.100.%d], sasl_method=PLAIN, sasl_username=alice@example.org\n", ts, i, id, i+1)
		} else {
			fmt.Fprintf(&log, "%s mail postfix/pickup[2%03d]: %s: uid=33 from=<www-data>\n", ts, i, id)
		}
		fmt.Fprintf(&log, "%s mail postfix/cleanup[3%03d]: %s: message-id=<%d@example.org>\n", ts, i, id, i)
		fmt.Fprintf(&log, "%s mail postfix/qmgr[400]: %s: from=<alice@example.org>, size=1234, nrcpt=1 (queue active)\n", ts, id)
		fmt.Fprintf(&log, "%s mail postfix/smtp[5%03d]: %s: to=<bob%d@example.net>, relay=mx.example.net[203.0.113.5]:25, delay=0.5, delays=0.1/0/0.2/0.2, dsn=2.0.0, status=sent (250 2.0.0 Ok)\n", ts, i, id, i)
		fmt.Fprintf(&log, "%s mail postfix/qmgr[400]: %s: removed\n", ts, id)
	}
	// The watch follows the log from its end, as tail -f: the lines are
	// appended once it runs.
	mailLog := filepath.Join(dir, "mail.log")
	os.WriteFile(mailLog, nil, 0o644)
	www := filepath.Join(dir, "www")
	os.MkdirAll(filepath.Join(www, "site"), 0o755)
	postfixDir := filepath.Join(dir, "postfix")
	os.MkdirAll(postfixDir, 0o755)
	tok := filepath.Join(dir, "metrics-token")
	const token = "d0c7e1f6a2b34c5d8e9f00112233aabb"
	os.WriteFile(tok, []byte(token+"\n"), 0o600)
	policyPort := freePort(t)
	closed := freePort(t) // nothing listens: the DNS parent and the resolver fail fast

	cfg := filepath.Join(dir, "vigie.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`http:
  listen: 127.0.0.1:0
  metrics_listen: 127.0.0.1:0
  metrics_token: {file: %s}
postfix:
  config_dir: %s
alerts:
  check_interval: 1s
notify:
  log:
    enabled: false
  webhook:
    - name: hook
      url: %s
      hmac_key: test-webhook-key-0123456789
mail:
  enabled: on
  source: file
  log_file: %s
  poll_interval: 100ms
  queue:
    enabled: off
web:
  enabled: on
  roots: [%s]
blocklist:
  enabled: on
  ips: [192.0.2.1]
  resolver: 127.0.0.1:%d
  timeout: 200ms
policy:
  enabled: on
  listen: [127.0.0.1:%d]
dns:
  domains: [example.com, example.org]
  parents:
    com: [127.0.0.1:%d]
    org: [127.0.0.1:%d]
  timeout: 200ms
  retries: 0
ct:
  watchlist: [example.com]
  start: beginning
  poll_interval: 100ms
  logs:
    - {name: test, url: %q, key: %q, api: rfc6962}
`, tok, postfixDir, hook.URL, mailLog, www, closed, policyPort, closed, closed, ctSrv.URL, l.PubB64)), 0o600)

	cmd := exec.Command(bin, "run", "--config", cfg, "--data", filepath.Join(dir, "data"))
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	metricsAddr := make(chan string, 1)
	var logLines lockedBuilder
	go func() {
		re := regexp.MustCompile(`msg="metrics listening" addr=(\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logLines.add(sc.Text())
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				metricsAddr <- m[1]
			}
		}
	}()
	var addr string
	select {
	case addr = <-metricsAddr:
	case <-time.After(60 * time.Second):
		time.Sleep(time.Second)
		t.Fatalf("no metrics listener; log:\n%s", logLines.String())
	}

	f, err := os.OpenFile(mailLog, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(log.String())
	f.Close()

	// A policy request, as Postfix sends it.
	if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", policyPort)); err == nil {
		fmt.Fprint(c, "request=smtpd_access_policy\nprotocol_state=END-OF-MESSAGE\nprotocol_name=ESMTP\nsasl_username=alice@example.org\n"+
			"sender=alice@example.org\nrecipient=bob@example.net\nrecipient_count=1\nclient_address=198.51.100.1\nqueue_id=4XaTEST\nsize=100\n\n")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		bufio.NewReader(c).ReadString('\n')
		c.Close()
	}
	select {
	case <-hooks:
	case <-time.After(60 * time.Second):
		t.Fatal("the CT alert never reached the webhook")
	}

	scrape := func(auth string) (int, string) {
		req, _ := http.NewRequest("GET", "http://"+addr+"/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := scrape(""); code != http.StatusUnauthorized {
		t.Errorf("metrics listener without the token = %d, want 401", code)
	}
	// Wait for the slower watches (DNS sweep, web scan) to report.
	var body string
	need := []string{"vigie_dns_sweep_duration_seconds", "vigie_mail_queue_messages{", "vigie_web_installs", "vigie_alerts_active{", "vigie_ct_position_entries{",
		"vigie_mail_messages_total{", "vigie_policy_requests_total{", "vigie_notify_deliveries_total{"}
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, b := scrape("Bearer " + token)
		if code != 200 {
			t.Fatalf("metrics listener with the token = %d", code)
		}
		body = b
		missing := []string{}
		for _, n := range need {
			if !strings.Contains(body, "\n"+n) {
				missing = append(missing, n)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Logf("still missing after 60s: %v\nlog:\n%s", missing, logLines.String())
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	names := map[string]bool{}
	for _, line := range strings.Split(body, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		n := line
		if i := strings.IndexAny(line, "{ "); i > 0 {
			n = line[:i]
		}
		names[n] = true
		names[family(n)] = true
	}
	var vigie []string
	for n := range names {
		if strings.HasPrefix(n, "vigie_") {
			vigie = append(vigie, n)
		}
	}
	sort.Strings(vigie)
	t.Logf("%d vigie series names exported", len(vigie))
	return names
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// lockedBuilder collects the daemon's log lines for failure messages.
type lockedBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuilder) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(line + "\n")
}

func (l *lockedBuilder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
