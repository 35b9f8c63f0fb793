package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigie/vigie/internal/blocklist"
	"github.com/vigie/vigie/internal/blocklist/knottest"
)

// The built-in lists are turned off so that only the test zones served by
// Knot are queried.
const offBuiltin = "[spamhaus, barracuda, spamcop, uceprotect, psbl, mailspike, uribl, surbl]"

func blocklistTestConfig(t *testing.T, k *knottest.Knot) string {
	dir := t.TempDir()
	zones := filepath.Join(dir, "zones.yaml")
	os.WriteFile(zones, knottest.Zones(), 0o600)
	cfg := filepath.Join(dir, "vigie.yaml")
	os.WriteFile(cfg, []byte("blocklist:\n  resolver: "+k.Addr+"\n  timeout: 2s\n  zones_file: "+zones+
		"\n  disable_zones: "+offBuiltin+"\n  ips: [203.0.113.7]\n  domains: [spammy.example]\n"), 0o600)
	return cfg
}

func TestBlocklistCheckJSON(t *testing.T) {
	k := knottest.Start(t)
	cfg := blocklistTestConfig(t, k)
	code, out, stderr := runCLI(t, nil, "blocklist", "check", "--config", cfg, "--json", "203.0.113.7", "203.0.113.1")
	if code != exitFail {
		t.Errorf("exit %d (stderr %q), want 1: something is listed", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	seen := map[string]map[string]any{}
	for _, l := range lines {
		var r map[string]any
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		for _, f := range []string{"target", "zone", "status", "codes", "reason", "delist_url"} {
			if _, ok := r[f]; !ok {
				t.Errorf("line %q has no %s", l, f)
			}
		}
		seen[r["target"].(string)+" "+r["zone"].(string)] = r
	}
	// 2 targets x 7 IP zones (domain zones do not apply to addresses).
	if len(lines) != 14 {
		t.Errorf("%d lines, want 14:\n%s", len(lines), out)
	}
	for key, want := range map[string]string{
		"203.0.113.7 good.bl.test":       "listed",
		"203.0.113.1 good.bl.test":       "clear",
		"203.0.113.7 refusing.bl.test":   "unknown",
		"203.0.113.7 everything.bl.test": "unknown",
		"203.0.113.1 everything.bl.test": "unknown",
		"203.0.113.7 limit.bl.test":      "unknown",
	} {
		if r := seen[key]; r == nil || r["status"] != want {
			t.Errorf("%s: %v, want %s", key, r, want)
		}
	}
	if r := seen["203.0.113.7 good.bl.test"]; r["delist_url"] != "https://good.bl.test/delist" || r["codes"].([]any)[0] != "127.0.0.2" {
		t.Errorf("listed line: %v", r)
	}

	// Only clear targets: exit 0. Without arguments: the configured targets.
	code, out, _ = runCLI(t, nil, "blocklist", "check", "--config", cfg, "clean.example")
	if !strings.Contains(out, "clean.example") || strings.Contains(out, "listed") {
		t.Errorf("clean.example: %q", out)
	}
	if code != exitOK {
		t.Errorf("clean.example: exit %d, want 0", code)
	}
	_, out, _ = runCLI(t, map[string]string{"VIGIE_CONFIG": cfg}, "blocklist", "check")
	if !strings.Contains(out, "203.0.113.7") || !strings.Contains(out, "spammy.example") || !strings.Contains(out, "lists everything") {
		t.Errorf("configured targets, text output: %q", out)
	}
}

// The list's TXT is whatever the zone's owner wrote: the text output
// escapes control characters, the JSON output encodes them.
func TestBlocklistCheckEscapesReason(t *testing.T) {
	k := knottest.Start(t)
	cfg := blocklistTestConfig(t, k)
	_, out, _ := runCLI(t, nil, "blocklist", "check", "--config", cfg, "203.0.113.13")
	if strings.ContainsRune(out, 0x1b) || !strings.Contains(out, `\x1b[31mowned`) {
		t.Errorf("text output: %q", out)
	}
	_, out, _ = runCLI(t, nil, "blocklist", "check", "--config", cfg, "--json", "203.0.113.13")
	if strings.ContainsRune(out, 0x1b) || strings.Contains(out, "<script>") || !strings.Contains(out, `\u001b[31mowned`) {
		t.Errorf("json output: %q", out)
	}
}

func TestBlocklistUsageAndWarnings(t *testing.T) {
	if code, _, stderr := runCLI(t, nil, "blocklist", "check", "not an address!"); code != exitUsage || !strings.Contains(stderr, "neither an IP address nor a domain") {
		t.Errorf("bad target: %d %q", code, stderr)
	}
	// A public resolver is warned about. Every list is disabled, so not a
	// single query leaves the machine; the guard below keeps it so when a
	// list is added to the built-in data.
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte("blocklist:\n  disable_zones: "+offBuiltin+"\n"), 0o600)
	cat, err := blocklist.LoadCatalog("", strings.Split(strings.Trim(offBuiltin, "[]"), ", "))
	if err != nil || len(cat.Queryable()) != 0 {
		t.Fatalf("offBuiltin must turn off every built-in list: %v %d", err, len(cat.Queryable()))
	}
	code, _, stderr := runCLI(t, nil, "blocklist", "check", "--config", cfg, "--resolver", "8.8.8.8", "192.0.2.1")
	if !strings.Contains(stderr, "Google's public resolver") || code != exitOK {
		t.Errorf("public resolver: %d %q", code, stderr)
	}
	if code, out, _ := runCLI(t, nil, "blocklist", "zones", "--dump"); code != 0 || !strings.Contains(out, "zen.spamhaus.org") {
		t.Errorf("zones --dump: %d", code)
	}
	code, out, _ := runCLI(t, nil, "blocklist", "zones", "--json")
	if code != 0 || !strings.Contains(out, `"provider":"microsoft"`) || !strings.Contains(out, `"dead":"SORBS`) {
		t.Errorf("zones --json: %d %q", code, out)
	}
	for _, args := range [][]string{{"blocklist", "--help"}, {"blocklist", "check", "--help"}, {"blocklist", "zones", "--help"}} {
		if code, out, _ := runCLI(t, nil, args...); code != 0 || !strings.Contains(out, "Usage") {
			t.Errorf("%v: %d %q", args, code, out)
		}
	}
}
