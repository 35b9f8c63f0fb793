package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/ct"
	"github.com/vigie/vigie/internal/ct/cttest"
	"github.com/vigie/vigie/internal/mailqueue"
	"github.com/vigie/vigie/internal/policy"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/store/postgres"
	"github.com/vigie/vigie/internal/testutil"
	"github.com/vigie/vigie/internal/testutil/pgtest"
)

// node is one `vigie run` of a multi-node test. Its log is read all the
// time (a full pipe would stop vigie) and kept for waitLog and failures.
type node struct {
	name, cfg, data, policyAddr string
	cmd                         *exec.Cmd
	mu                          sync.Mutex
	log                         strings.Builder
	exited                      chan struct{}
}

// cluster is three nodes on one PostgreSQL database, each running the
// policy server and the CT watch on the same three test CT logs.
type cluster struct {
	pg    *pgtest.Server
	dsn   string
	nodes []*node
	logs  []*cttest.Log
	ca    *cttest.CA
	db    *postgres.DB
}

func newCluster(t *testing.T, n int) *cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("three vigie processes on PostgreSQL: not in -short")
	}
	c := &cluster{pg: pgtest.Require(t)}
	c.dsn = c.pg.Database(t)
	var err error
	if c.ca, err = cttest.NewCA("Test CA"); err != nil {
		t.Fatal(err)
	}
	var logsYAML strings.Builder
	for i := 0; i < 3; i++ {
		l, err := cttest.NewLog()
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(l)
		t.Cleanup(srv.Close)
		c.logs = append(c.logs, l)
		c.addCert(t, i, fmt.Sprintf("first%d.example.com", i))
		fmt.Fprintf(&logsYAML, "    - {name: log%d, url: %q, key: %q, api: rfc6962}\n", i, srv.URL, l.PubB64)
	}
	dir := t.TempDir()
	for i := 1; i <= n; i++ {
		nd := newNode(t, dir, i)
		os.WriteFile(nd.cfg, []byte(fmt.Sprintf(`node: %s
store:
  driver: postgres
  dsn: %q
http:
  listen: 127.0.0.1:0
notify:
  log:
    enabled: false
blocklist:
  enabled: off
policy:
  enabled: on
  listen: [%s]
  milter: {listen: "", local_listen: ""}
  over_limit: {action: DEFER_IF_PERMIT, text: 4.7.1 Sending limit reached}
  containment: off
  limits:
    - {window: 1m, messages: 30}
ct:
  watchlist: [example.com]
  start: beginning
  poll_interval: 200ms
  lease_ttl: 3s
  logs:
%s`, nd.name, c.dsn, nd.policyAddr, logsYAML.String())), 0o600)
		c.nodes = append(c.nodes, nd)
	}
	for _, nd := range c.nodes {
		nd.start(t)
	}
	for _, nd := range c.nodes {
		nd.waitLog(t, regexp.MustCompile(`policy server ready.*shared=true`), 20*time.Second)
	}
	ctx := context.Background()
	if c.db, err = postgres.Open(ctx, c.dsn, postgres.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.db.Close() })
	return c
}

// addCert logs a certificate for name in log i.
func (c *cluster) addCert(t *testing.T, i int, name string) {
	t.Helper()
	p, err := c.ca.Issue([]string{name}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tbs, _ := ct.PrecertTBS(p.Precert)
	c.logs[i].AddPrecert(p.Precert, tbs, c.ca.KeyHash())
}

// newNode is node i of a test: its data directory and configuration file
// under dir, its policy server on a free loopback port.
func newNode(t testing.TB, dir string, i int) *node {
	nd := &node{name: fmt.Sprintf("n%d", i), data: filepath.Join(dir, fmt.Sprintf("n%d", i)),
		policyAddr: fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))}
	nd.cfg = filepath.Join(dir, nd.name+".yaml")
	return nd
}

func (nd *node) start(t testing.TB) {
	t.Helper()
	nd.cmd = exec.Command(binary, "run", "--config", nd.cfg, "--data", nd.data)
	pipe, err := nd.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := nd.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	nd.exited = make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			nd.mu.Lock()
			nd.log.WriteString(sc.Text() + "\n")
			nd.mu.Unlock()
		}
		nd.cmd.Wait()
		close(nd.exited)
	}()
	t.Cleanup(func() {
		nd.cmd.Process.Kill()
		<-nd.exited
		if strings.Contains(nd.logText(), "DATA RACE") { // a binary built with -race
			t.Errorf("%s: data race", nd.name)
		}
		if t.Failed() {
			t.Logf("log of %s:\n%s", nd.name, nd.logText())
		}
	})
}

func (nd *node) logText() string {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	return nd.log.String()
}

func (nd *node) waitLog(t testing.TB, re *regexp.Regexp, within time.Duration) {
	t.Helper()
	end := time.Now().Add(within)
	for !re.MatchString(nd.logText()) {
		select {
		case <-nd.exited:
			t.Fatalf("%s exited before logging %q", nd.name, re)
		default:
		}
		if time.Now().After(end) {
			t.Fatalf("%s logged no line matching %q within %v", nd.name, re, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ask sends one END-OF-MESSAGE request of account as Postfix does and
// returns the action word, or an error if no answer came within a second
// (the decision timeout is 100ms: a second is already a failure).
func ask(addr, account, queueID string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	fmt.Fprintf(c, "request=smtpd_access_policy\nprotocol_state=END-OF-MESSAGE\nprotocol_name=ESMTP\n"+
		"client_address=192.0.2.7\nsender=%s\nrecipient_count=1\nqueue_id=%s\nsasl_method=PLAIN\nsasl_username=%s\n\n",
		account, queueID, account)
	br := bufio.NewReader(c)
	action := ""
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return "", err
		}
		line = strings.TrimSpace(line)
		if line == "" {
			return action, nil
		}
		if v, ok := strings.CutPrefix(line, "action="); ok {
			action, _, _ = strings.Cut(v, " ")
		}
	}
}

func mustAsk(t *testing.T, nd *node, account, queueID string) string {
	t.Helper()
	a, err := ask(nd.policyAddr, account, queueID)
	if err != nil {
		t.Fatalf("policy server of %s: %v", nd.name, err)
	}
	return a
}

var qidSeq int

func nextQID() string {
	qidSeq++
	return fmt.Sprintf("4Q%08X", qidSeq)
}

// TestMultiNodeSharedPolicyAndCTTakeover runs three `vigie run` on one
// PostgreSQL: an account sending through all three hits one limit, a
// suspension made on one node holds on the others within a second, and
// the CT logs of a node killed with SIGKILL are followed by the others
// within a minute.
func TestMultiNodeSharedPolicyAndCTTakeover(t *testing.T) {
	c := newCluster(t, 3)
	ctx := context.Background()

	// One limit: 30 messages a minute. Bursts of 5 through each node in
	// turn, each burst once the previous one is shared (two sync
	// intervals, with room for a slow one): exactly 30 are accepted, the
	// rest deferred on every node.
	accepted := 0
	deferredOn := map[string]bool{}
	for round := 0; round < 9; round++ {
		nd := c.nodes[round%3]
		for i := 0; i < 5; i++ {
			switch a := mustAsk(t, nd, "alice@example.org", nextQID()); a {
			case "DUNNO":
				accepted++
			case "DEFER_IF_PERMIT":
				deferredOn[nd.name] = true
			default:
				t.Fatalf("%s answered %q", nd.name, a)
			}
		}
		time.Sleep(4 * policy.SyncInterval) // two exchanges, with room for a slow one
	}
	if accepted != 30 || len(deferredOn) != 3 {
		t.Errorf("accepted %d messages of alice through three nodes (deferred on %v), want 30 and deferred on all three", accepted, deferredOn)
	}

	// A suspension on n1 holds on n2 and n3 within a second.
	code, out, errOut := run(t, nil, "mail", "suspend", "--config", c.nodes[0].cfg, "--data", c.nodes[0].data,
		"--no-hold", "--reason", "test", "bob@example.org")
	if code != 0 {
		t.Fatalf("vigie mail suspend: exit %d\n%s%s", code, out, errOut)
	}
	suspended := time.Now()
	if m, err := policy.LoadSuspensions(ctx, c.db); err != nil || len(m) != 1 {
		t.Fatalf("suspensions in the store after vigie mail suspend: %v %v\n%s%s", m, err, out, errOut)
	}
	for _, nd := range c.nodes[1:] {
		for {
			a := mustAsk(t, nd, "bob@example.org", nextQID())
			if a == "HOLD" {
				break
			}
			if time.Since(suspended) > time.Second {
				t.Fatalf("%s still answers %s for bob a second after the suspension", nd.name, a)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	t.Logf("suspension held on n2 and n3 %v after `vigie mail suspend` returned", time.Since(suspended).Round(time.Millisecond))

	// The three logs are split, one per node.
	holders := waitHolders(t, c.db, func(h map[string][]int) bool {
		return len(h) == 3 && len(h["n1"]) == 1 && len(h["n2"]) == 1 && len(h["n3"]) == 1
	}, 20*time.Second)
	t.Logf("CT logs split: %v", holders)
	waitCerts(t, c.db, []string{"first0.example.com", "first1.example.com", "first2.example.com"}, 20*time.Second)

	// n3 dies; its log moves to n1 or n2 and its new certificates are
	// reported by them.
	c.nodes[2].cmd.Process.Kill()
	<-c.nodes[2].exited
	killed := time.Now()
	for i := range c.logs {
		c.addCert(t, i, fmt.Sprintf("after%d.example.com", i))
	}
	holders = waitHolders(t, c.db, func(h map[string][]int) bool {
		_, dead := h["n3"]
		return !dead && len(h["n1"])+len(h["n2"]) == 3
	}, time.Minute)
	waitCerts(t, c.db, []string{"after0.example.com", "after1.example.com", "after2.example.com"}, time.Minute-time.Since(killed))
	t.Logf("n3 killed; its CT log taken over in %v: %v", time.Since(killed).Round(time.Millisecond), holders)

	// Every certificate was reported once although logs changed hands.
	fs, err := c.db.ListFindings(ctx, store.FindingQuery{Watch: "ct", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, f := range fs {
		if f.Rule == "certificate" {
			seen[f.Evidence["names"]]++
		}
	}
	for name, n := range seen {
		if n != 1 {
			t.Errorf("certificate for %s reported %d times, want once", name, n)
		}
	}
}

func waitHolders(t *testing.T, db *postgres.DB, ok func(map[string][]int) bool, within time.Duration) map[string][]int {
	t.Helper()
	end := time.Now().Add(within)
	var h map[string][]int
	for time.Now().Before(end) {
		var err error
		h, err = db.LeaseHolders(context.Background(), "ct-logs", time.Now())
		if err == nil && ok(h) {
			return h
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("CT leases not as expected within %v: %v", within, h)
	return nil
}

// waitCerts waits until a certificate finding names each of names.
func waitCerts(t *testing.T, db *postgres.DB, names []string, within time.Duration) {
	t.Helper()
	end := time.Now().Add(within)
	var missing []string
	for time.Now().Before(end) {
		fs, err := db.ListFindings(context.Background(), store.FindingQuery{Watch: "ct", Limit: 1000})
		if err == nil {
			got := map[string]bool{}
			for _, f := range fs {
				got[f.Evidence["names"]] = true
			}
			missing = missing[:0]
			for _, n := range names {
				if !got[n] {
					missing = append(missing, n)
				}
			}
			if len(missing) == 0 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no certificate finding for %v within %v", missing, within)
}

// TestMultiNodeDatabaseRestart crashes PostgreSQL under three nodes: the
// policy servers keep answering within their timeout (fail-open) while it
// is down, counting on their own; when it is back the nodes reconnect,
// what they let through meanwhile is shared, the queue-id records of the
// messages accepted meanwhile are in the store, and each node recorded
// the outage as a finding.
func TestMultiNodeDatabaseRestart(t *testing.T) {
	c := newCluster(t, 3)
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		if a := mustAsk(t, c.nodes[0], "carol@example.org", nextQID()); a != "DUNNO" {
			t.Fatalf("message %d of carol: %s", i, a)
		}
	}
	time.Sleep(4 * policy.SyncInterval)

	c.pg.Kill()
	down := time.Now()
	var outageQIDs []string
	// about 6 rounds of one message per node: 18, leaving carol 2
	for time.Since(down) < 3*time.Second {
		for _, nd := range c.nodes {
			q := nextQID()
			a, err := ask(nd.policyAddr, "carol@example.org", q)
			if err != nil {
				t.Fatalf("%s did not answer while the database was down: %v", nd.name, err)
			}
			if a != "DUNNO" {
				t.Fatalf("%s answered %s for carol's message %d while the database was down", nd.name, a, 10+len(outageQIDs))
			}
			outageQIDs = append(outageQIDs, q)
		}
		time.Sleep(500 * time.Millisecond)
	}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := c.pg.Restart(rctx); err != nil {
		t.Fatal(err)
	}
	for _, nd := range c.nodes {
		nd.waitLog(t, regexp.MustCompile(`shared store answers again`), 30*time.Second)
	}
	time.Sleep(4 * policy.SyncInterval)

	// What the nodes accepted alone is shared now: carol has 30 - 10 -
	// len(outageQIDs) messages left, wherever she sends them.
	left := 0
	for i := 0; i < 30; i++ {
		// bursts of 5 through one node, each once the last is shared
		if mustAsk(t, c.nodes[1+(i/5)%2], "carol@example.org", nextQID()) == "DUNNO" {
			left++
		}
		if i%5 == 4 {
			time.Sleep(4 * policy.SyncInterval) // two exchanges, with room for a slow one
		}
	}
	if want := max(0, 30-10-len(outageQIDs)); left != want {
		t.Errorf("after the restart carol could send %d more messages, want %d (30 - 10 before - %d during the outage)", left, want, len(outageQIDs))
	}

	// Nothing acknowledged is lost: the records of the messages Postfix
	// was told DUNNO for during the outage are in the store.
	time.Sleep(1500 * time.Millisecond) // the recorders write once a second
	var msgs []mailqueue.Message
	for _, q := range outageQIDs {
		msgs = append(msgs, mailqueue.Message{ID: q, Arrival: down.Unix()})
	}
	owners, err := (&policy.StoreIndex{Store: c.db}).Owners(ctx, msgs)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range outageQIDs {
		if owners[q].SASLUser != "carol@example.org" {
			t.Errorf("queue id %s accepted during the outage has no record (owner %+v)", q, owners[q])
		}
	}

	// Each node says it decided alone, in a finding.
	fs, err := c.db.ListFindings(ctx, store.FindingQuery{Watch: "policy", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	recorded := map[string]string{}
	for _, f := range fs {
		if f.Rule == "shared-store-unavailable" {
			recorded[f.Subject] = f.Evidence["answered_alone"]
		}
	}
	for _, nd := range c.nodes {
		if n, ok := recorded[nd.name]; !ok || n == "0" {
			t.Errorf("no finding of %s answering alone during the outage (answered_alone=%q); findings: %v", nd.name, n, recorded)
		}
	}
}
