package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/vigie/vigie/internal/testutil"
)

// The man page is generated from the commands' own help: every command is
// in it with every flag its --help lists, and groff reads it without a
// warning.
func TestManPageFromTheCommandsHelp(t *testing.T) {
	code, page, stderr := runCLI(t, nil, "man")
	if code != 0 {
		t.Fatalf("vigie man: %d %s", code, stderr)
	}
	ls := leaves(t.Context(), &Env{Getenv: func(string) string { return "" }}, rootCommand())
	if len(ls) < 30 {
		t.Fatalf("only %d commands found", len(ls))
	}
	for _, l := range ls {
		if !strings.Contains(page, ".SS "+roff(l.path)+"\n") {
			t.Errorf("the man page has no section for %s", l.path)
		}
		_, help, _ := runCLI(t, nil, append(strings.Fields(strings.TrimPrefix(l.path, "vigie ")), "--help")...)
		if help == "" || !strings.Contains(page, roff(strings.TrimRight(help, "\n"))) {
			t.Errorf("the man page does not carry %s --help verbatim", l.path)
		}
	}
	for _, want := range []string{"vigie dns check", "vigie run", "vigie config check"} {
		if !strings.Contains(page, ".SS "+roff(want)) {
			t.Errorf("no %s", want)
		}
	}
	groff := testutil.RequireProgram(t, "groff")
	f := filepath.Join(t.TempDir(), "vigie.8")
	os.WriteFile(f, []byte(page), 0o644)
	out, err := exec.Command(groff, "-man", "-Tutf8", "-ww", "-z", f).CombinedOutput()
	if err != nil || len(out) != 0 {
		t.Errorf("groff warns: %v\n%s", err, out)
	}
}

// The completions know every command and each command's flags.
func TestCompletions(t *testing.T) {
	code, script, _ := runCLI(t, nil, "completion", "bash")
	if code != 0 {
		t.Fatal(code)
	}
	if code, _, _ := runCLI(t, nil, "completion", "fish"); code != 2 {
		t.Errorf("completion fish: exit %d, want 2", code)
	}
	bash := testutil.RequireProgram(t, "bash")
	f := filepath.Join(t.TempDir(), "vigie.bash")
	os.WriteFile(f, []byte(script), 0o644)
	complete := func(words ...string) []string {
		t.Helper()
		// words end with the word being completed.
		var q []string
		for _, w := range words {
			q = append(q, "'"+w+"'")
		}
		prog := "source " + f + "; COMP_WORDS=(vigie " + strings.Join(q, " ") + "); COMP_CWORD=" + strconv.Itoa(len(words)) + "; _vigie; printf '%s\\n' \"${COMPREPLY[@]}\""
		out, err := exec.Command(bash, "-c", prog).CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v %s", words, err, out)
		}
		return strings.Fields(string(out))
	}
	for _, c := range []struct {
		words []string
		want  string
	}{
		{[]string{"dn"}, "dns"},
		{[]string{"--"}, "--version"},
		{[]string{"dns", "ch"}, "check"},
		{[]string{"dns", "check", "--pa"}, "--parent"},
		{[]string{"--data", "/tmp", "dns", "check", "--j"}, "--json"},
		{[]string{"config", "e"}, "example"},
	} {
		got := complete(c.words...)
		if len(got) == 0 || !contains(got, c.want) {
			t.Errorf("completing %v: %v, want %s", c.words, got, c.want)
		}
	}
	if got := complete("dns", "check", ""); len(got) != 0 {
		t.Errorf("a leaf's argument completes files, not %v", got)
	}

	_, zscript, _ := runCLI(t, nil, "completion", "zsh")
	if !regexp.MustCompile(`(?m)^#compdef vigie$`).MatchString(zscript) || !strings.Contains(zscript, "'dns check')") {
		t.Errorf("zsh script:\n%s", zscript)
	}
	zsh := testutil.RequireProgram(t, "zsh")
	zf := filepath.Join(t.TempDir(), "_vigie")
	os.WriteFile(zf, []byte(zscript), 0o644)
	if out, err := exec.Command(zsh, "-n", zf).CombinedOutput(); err != nil {
		t.Errorf("zsh -n: %v %s", err, out)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
