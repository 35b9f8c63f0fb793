package cli

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigie/vigie/internal/dnswatch/knottest"
	"github.com/vigie/vigie/internal/testutil/pgtest"
)

// The dns commands end to end against real Knot servers: a first check
// learns the baseline (exit 0), a hijack at the registry is printed as
// JSON lines (exit 1), the revert plan lists it, approving the incident
// makes the next check clean again.
// dnsEnv: the acting user of the dns tests.
var dnsEnv = map[string]string{"USER": "alice"}

func TestDNSCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("starts knotd")
	}
	t.Run("sqlite", func(t *testing.T) { testDNSCommands(t, "") })
	// On PostgreSQL the commands use the store the nodes share, and the
	// baseline the daemon keeps there, one record per shard.
	t.Run("postgres", func(t *testing.T) {
		dsn := pgtest.Require(t).Database(t)
		testDNSCommands(t, "store:\n  driver: postgres\n  dsn: "+dsn+"\n")
	})
}

func testDNSCommands(t *testing.T, storeYAML string) {
	l := knottest.NewLab(t, []string{"alpha.", "delta."}, 20)
	dir := t.TempDir()
	domains := filepath.Join(dir, "domains.txt")
	os.WriteFile(domains, []byte("# watched\n"+strings.Join(l.Domains, "\n")+"\nnot a domain line at all\n"), 0o644)
	cfg := filepath.Join(dir, "vigie.yaml")
	// The resolver is set to the lab's registry so that nothing, even by
	// mistake, is sent to the machine's real resolver.
	os.WriteFile(cfg, []byte(storeYAML+fmt.Sprintf("dns:\n  child_port: %d\n  timeout: 1s\n  rate_limit: 0\n  resolver: %q\n  shards: 8\n",
		l.Port(), l.Registry.HostPort())), 0o644)
	data := filepath.Join(dir, "data")
	check := []string{"--data", data, "dns", "check", "--config", cfg, "--domains", domains, "--json",
		"--parent", "alpha.=" + l.Registry.HostPort(), "--parent", "delta.=" + l.Registry.HostPort()}

	code, out, errs := runCLI(t, dnsEnv, check...)
	if code != 0 || out != "" {
		t.Fatalf("first check: exit %d, out %q, err %s", code, out, errs)
	}
	if !strings.Contains(errs, "domains.txt:42") {
		t.Errorf("the bad inventory line is not reported: %s", errs)
	}

	l.Hijacked["d3.alpha."], l.Hijacked["d7.delta."] = true, true
	l.Publish()
	code, out, errs = runCLI(t, dnsEnv, check...)
	if code != 1 {
		t.Fatalf("after the hijack: exit %d, err %s", code, errs)
	}
	kinds := map[string]map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var d driftLine
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if kinds[d.Domain] == nil {
			kinds[d.Domain] = map[string]bool{}
		}
		kinds[d.Domain][d.Kind] = true
		if d.Kind == "ns" && (d.Observed != "ns1.rogue.delta., ns2.rogue.delta." || d.Server != l.Registry.HostPort()) {
			t.Errorf("ns drift: %+v", d)
		}
	}
	if len(kinds) != 2 || !kinds["d3.alpha."]["ns"] || !kinds["d7.delta."]["a"] {
		t.Fatalf("drifts: %v", kinds)
	}

	code, out, errs = runCLI(t, dnsEnv, "--data", data, "dns", "revert-plan", "--config", cfg, "--incident", "1")
	if code != 0 {
		t.Fatalf("revert-plan: exit %d: %s", code, errs)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) != 3 || rows[1][0] != "d3.alpha." || rows[1][2] != "ns1.hoster.alpha., ns2.hoster.alpha." ||
		rows[1][3] != "ns1.rogue.delta., ns2.rogue.delta." || rows[2][0] != "d7.delta." {
		t.Fatalf("revert plan: %v %q", err, out)
	}
	code, out, _ = runCLI(t, dnsEnv, "--data", data, "dns", "revert-plan", "--config", cfg, "--incident", "1", "--format", "json")
	if code != 0 || strings.Count(out, "\n") != 2 || !strings.Contains(out, `"expected_ns":"ns1.hoster.delta., ns2.hoster.delta."`) {
		t.Fatalf("revert plan json: %d %q", code, out)
	}

	// The registrar decides the change was wanted.
	code, out, errs = runCLI(t, dnsEnv, "--data", data, "dns", "approve", "--config", cfg, "--incident", "1")
	if code != 0 || !strings.Contains(out, "approved d3.alpha. ns") {
		t.Fatalf("approve: exit %d, out %q, err %s", code, out, errs)
	}
	code, out, errs = runCLI(t, dnsEnv, check...)
	if code != 0 || out != "" {
		t.Fatalf("check after approve: exit %d, out %q, err %s", code, out, errs)
	}
	// Reverting is now a drift from the approved state.
	clear(l.Hijacked)
	l.Publish()
	if code, out, _ = runCLI(t, dnsEnv, check...); code != 1 || !strings.Contains(out, `"domain":"d3.alpha.","kind":"ns"`) {
		t.Fatalf("after revert: exit %d, out %q", code, out)
	}
	code, _, errs = runCLI(t, dnsEnv, "--data", data, "dns", "approve", "--config", cfg, "d3.alpha", "d7.delta.")
	if code != 0 {
		t.Fatalf("approve domains: %d %s", code, errs)
	}
	if code, out, _ = runCLI(t, dnsEnv, check...); code != 0 {
		t.Fatalf("after approving the domains: exit %d, out %q", code, out)
	}

	// A planned migration of many domains: record the new state at once.
	l.Hijacked["d1.alpha."], l.Hijacked["d2.alpha."] = true, true
	l.Publish()
	if code, _, _ = runCLI(t, dnsEnv, check...); code != 1 {
		t.Fatalf("migration not seen: exit %d", code)
	}
	baseline := append([]string{"--data", data, "dns", "baseline"}, check[4:len(check)-0]...)
	baseline = removeFlag(baseline, "--json")
	if code, out, errs = runCLI(t, dnsEnv, baseline...); code != 0 || !strings.Contains(out, "baseline recorded for 40 domains") {
		t.Fatalf("baseline: exit %d, out %q, err %s", code, out, errs)
	}
	if code, out, _ = runCLI(t, dnsEnv, check...); code != 0 {
		t.Fatalf("after the new baseline: exit %d, out %q", code, out)
	}
	_, err = os.Stat(filepath.Join(data, "dns-baseline.tsv"))
	if onPG := storeYAML != ""; onPG != os.IsNotExist(err) {
		t.Errorf("on PostgreSQL %v, the baseline file: %v", onPG, err)
	}
}

func removeFlag(args []string, flag string) []string {
	var out []string
	for _, a := range args {
		if a != flag {
			out = append(out, a)
		}
	}
	return out
}

func TestDNSUsage(t *testing.T) {
	data := t.TempDir()
	for _, args := range [][]string{
		{"dns", "check", "--parent", "nonsense"},
		{"dns", "check", "--data", data}, // no domains
		{"dns", "check", "--data", data, "--domains", filepath.Join(data, "missing")},
		{"dns", "approve"},
		{"dns", "approve", "x.org", "--incident", "2"},
		{"dns", "revert-plan"},
		{"dns", "revert-plan", "--incident", "1", "--format", "xml"},
	} {
		if code, _, _ := runCLI(t, dnsEnv, args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
	code, out, _ := runCLI(t, dnsEnv, "dns", "check", "--help")
	if code != 0 || !strings.Contains(out, "--parent") || !strings.Contains(out, "Exit status") {
		t.Errorf("help: %d %q", code, out)
	}
}
