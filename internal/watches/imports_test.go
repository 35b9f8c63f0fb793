package watches

import (
	"os/exec"
	"strings"
	"testing"
)

// The watches are known to the rest of vigie through their descriptors
// only: config and alert import no watch package at all, and in what
// incident and ui import, a watch package is reached only through this
// list (internal/watches), never imported directly.
func TestNoWatchImportedButThroughTheList(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	const mod = "github.com/vigie/vigie/internal/"
	watchPkgs := map[string]bool{}
	// The packages that export a descriptor: found from the list's own
	// imports, so a new watch is covered without editing this test.
	out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, mod+"watches").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, mod) && p != mod+"watch" {
			watchPkgs[p] = true
		}
	}
	if len(watchPkgs) != len(All()) {
		t.Fatalf("the list imports %d watch packages for %d descriptors: %v", len(watchPkgs), len(All()), watchPkgs)
	}
	for _, c := range []struct {
		pkg         string
		throughList bool // may reach a watch through internal/watches
	}{
		{"config", false}, {"alert", false}, {"incident", true}, {"ui", true},
	} {
		out, err := exec.Command("go", "list", "-deps", "-f", `{{.ImportPath}}: {{join .Imports " "}}`, mod+c.pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", c.pkg, err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			from, imports, _ := strings.Cut(line, ": ")
			if watchPkgs[from] {
				continue // a watch's own imports (another watch's data) are its business
			}
			for _, imp := range strings.Fields(imports) {
				if !watchPkgs[imp] {
					continue
				}
				if !c.throughList || from != mod+"watches" {
					t.Errorf("%s: %s imports the watch package %s", c.pkg, from, imp)
				}
			}
		}
	}
}
