package dnswatch

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func newTestMonitor(t *testing.T, path string, names ...string) *Monitor {
	t.Helper()
	m, err := New(Options{BaselinePath: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	if _, err := m.SetInventory(Inventory{Lines: names}.Scan); err != nil {
		t.Fatal(err)
	}
	return m
}

// The baseline survives a restart, keeps hostile values exactly, and an
// approval written beside a running monitor wins over what it had.
func TestBaselineRoundTripAndApproval(t *testing.T) {
	path := filepath.Join(t.TempDir(), "baseline.tsv")
	m := newTestMonitor(t, path, "a.example", "b.example")
	hostile := "\"v=spf1 \\t\\n\\x00 +all\"\tinjected\nd\tb.example.\t1"
	d := &m.domains[m.find("a.example.")]
	d.obs[KindNS], d.obs[KindSPF] = m.vals.id("ns1.x., ns2.x."), m.vals.id(hostile)
	d.base = d.obs
	if err := m.baseline.save(m); err != nil {
		t.Fatal(err)
	}
	m2 := newTestMonitor(t, path, "a.example", "b.example", "c.example")
	if err := m2.baseline.reloadIfChanged(m2); err != nil {
		t.Fatal(err)
	}
	d2 := &m2.domains[m2.find("a.example.")]
	if m2.vals.value(d2.base[KindNS]) != "ns1.x., ns2.x." || m2.vals.value(d2.base[KindSPF]) != hostile || d2.base[KindA] != 0 {
		t.Fatalf("reloaded %q %q", m2.vals.value(d2.base[KindNS]), m2.vals.value(d2.base[KindSPF]))
	}
	if b := &m2.domains[m2.find("b.example.")]; b.base != [numKinds]valueID{} {
		t.Fatalf("b.example. got a baseline from a hostile value: %v", b.base)
	}

	if err := SetBaseline(path, map[string]map[Kind]string{"a.example.": {KindNS: "ns1.new."}, "c.example.": {KindA: "192.0.2.1"}}); err != nil {
		t.Fatal(err)
	}
	if err := m2.baseline.reloadIfChanged(m2); err != nil {
		t.Fatal(err)
	}
	if got := m2.vals.value(m2.domains[m2.find("a.example.")].base[KindNS]); got != "ns1.new." {
		t.Errorf("approved NS not read: %q", got)
	}
	if got := m2.vals.value(m2.domains[m2.find("a.example.")].base[KindSPF]); got != hostile {
		t.Errorf("approval lost the other kinds: %q", got)
	}
	if got := m2.vals.value(m2.domains[m2.find("c.example.")].base[KindA]); got != "192.0.2.1" {
		t.Errorf("approval of a new domain: %q", got)
	}
}

func TestBaselineRefusesDamage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "baseline.tsv")
	for _, text := range []string{"x\ty\n", "d\ta.example.\t9\t0\t0\t0\t0\t0\t0\t0\t0\n", "v\t1\tnot quoted\n"} {
		os.WriteFile(path, []byte(text), 0o600)
		m := newTestMonitor(t, path, "a.example")
		err := m.baseline.reloadIfChanged(m)
		if err == nil || !strings.Contains(err.Error(), "baseline.tsv:1") {
			t.Errorf("%q: %v", text, err)
		}
	}
}

func FuzzBaseline(f *testing.F) {
	f.Add("# vigie dns baseline 1\nv\t1\t\"ns1.x.\"\nd\ta.example.\t1\t0\t0\t0\t0\t0\t0\t0\t0\n")
	f.Add("v\t4294967295\t\"\"\n")
	f.Fuzz(func(t *testing.T, text string) {
		readBaseline(strings.NewReader(text), "fuzz", func(uint32, string) error { return nil },
			func(string, [numKinds]uint32) error { return nil })
	})
}
