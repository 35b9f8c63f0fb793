package dnswatch

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseEntry(t *testing.T) {
	cases := []struct {
		line string
		want Entry
		err  string
	}{
		{line: "Example.ORG", want: Entry{Name: "example.org."}},
		{line: "example.org.", want: Entry{Name: "example.org."}},
		{line: "example.co.uk ns2.Host.net,ns1.host.net.", want: Entry{Name: "example.co.uk.", NS: []string{"ns1.host.net.", "ns2.host.net."}}},
		{line: "xn--bcher-kva.example", want: Entry{Name: "xn--bcher-kva.example."}},
		{line: "org", err: "top-level"},
		{line: "bücher.example", err: "ASCII"},
		{line: "a..b", err: "not a valid"},
		{line: "example.org ns1 ns2", err: "expected"},
		{line: "example.org ,", err: "empty name server list"},
		{line: "ex\\ample.org", err: "ASCII"},
		{line: strings.Repeat("a", 64) + ".org", err: "not a valid"},
	}
	for _, c := range cases {
		got, err := ParseEntry(c.line)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.line, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: got %+v, %v; want %+v", c.line, got, err, c.want)
		}
	}
}

func TestScanInventory(t *testing.T) {
	in := "# comment\n\nexample.org\n  example.net ns1.x.net  \nnot valid line here\nexample.com\n"
	var got []string
	st, err := ScanInventory(strings.NewReader(in), "inv.txt", func(e Entry) error {
		got = append(got, e.Name)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, []string{"example.org.", "example.net.", "example.com."}) || st.Bad != 1 || st.Domains != 3 || st.Lines != 6 {
		t.Fatalf("got %v, stats %+v", got, st)
	}
	if len(st.FirstErrors) != 1 || !strings.HasPrefix(st.FirstErrors[0].Error(), "inv.txt:5: ") {
		t.Errorf("errors %v", st.FirstErrors)
	}
	stop := errors.New("stop")
	if _, err := ScanInventory(strings.NewReader(in), "inv.txt", func(Entry) error { return stop }); err != stop {
		t.Errorf("callback error not returned: %v", err)
	}
	if _, err := ScanInventory(strings.NewReader(strings.Repeat("a", 70000)), "big", func(Entry) error { return nil }); err == nil ||
		!strings.Contains(err.Error(), "64 KiB") {
		t.Errorf("long line: %v", err)
	}
}

func TestInventoryScanBoth(t *testing.T) {
	p := filepath.Join(t.TempDir(), "domains")
	os.WriteFile(p, []byte("b.example\nbad line x y\n"), 0o644)
	var got []string
	st, err := Inventory{Lines: []string{"a.example ns1.a.example"}, File: p}.Scan(func(e Entry) error {
		got = append(got, e.Name)
		return nil
	})
	if err != nil || !reflect.DeepEqual(got, []string{"a.example.", "b.example."}) || st.Bad != 1 {
		t.Fatalf("%v %v %+v", got, err, st)
	}
	if _, err := (Inventory{File: p + ".missing"}).Scan(func(Entry) error { return nil }); err == nil {
		t.Error("missing file not reported")
	}
}

func FuzzParseEntry(f *testing.F) {
	for _, s := range []string{"example.org", "example.org ns1.x.net,ns2.x.net", "a..b", "\x00", "x.y z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		e, err := ParseEntry(line)
		if err != nil {
			return
		}
		if !strings.HasSuffix(e.Name, ".") || strings.ToLower(e.Name) != e.Name || strings.ContainsAny(e.Name, " \t\n,") {
			t.Fatalf("bad name %q from %q", e.Name, line)
		}
		again, err := ParseEntry(e.Name + " " + strings.Join(e.NS, ","))
		if e.NS == nil {
			again, err = ParseEntry(e.Name)
		}
		if err != nil || !reflect.DeepEqual(again, e) {
			t.Fatalf("not stable: %+v -> %+v, %v", e, again, err)
		}
	})
}
