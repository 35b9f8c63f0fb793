package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// replay reads a web access log beside the mail log: a Drupalgeddon 2
// request in it is reported at the request's own time, and the access-log
// lines are not counted as unread.
func TestReplayRunsTheAccessLogDetectors(t *testing.T) {
	dir := t.TempDir()
	access := filepath.Join(dir, "access.log")
	lines := []string{
		`198.51.100.4 - - [07/Jul/2017:10:03:00 +0000] "GET / HTTP/1.1" 200 612 "-" "Mozilla/5.0"`,
		`203.0.113.9 - - [07/Jul/2017:10:04:12 +0000] "POST /user/register?element_parents=account/mail/%23value&ajax_form=1&_wrapper_format=drupal_ajax HTTP/1.1" 200 123 "-" "python-requests/2.18"`,
		`Jul  7 10:05:00 mx postfix/qmgr[123]: 4BqK2x0ZzZz1: removed`,
	}
	os.WriteFile(access, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	var out, errOut bytes.Buffer
	code := Main(context.Background(), Env{Args: []string{"replay", "--json", access}, Stdout: &out, Stderr: &errOut,
		Getenv: func(string) string { return "" }})
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var found bool
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var c struct{ Time, Change, Watch, Rule, Subject string }
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		if c.Watch == "web" && c.Change == "fired" && c.Time == "2017-07-07T10:04:12Z" && strings.Contains(c.Rule, "drupalgeddon") {
			found = true
		}
	}
	if !found {
		t.Errorf("no Drupalgeddon 2 alert at 10:04:12:\n%s\n%s", out.String(), errOut.String())
	}
	if !strings.Contains(errOut.String(), "access-log") {
		t.Errorf("the summary does not count access-log lines: %s", errOut.String())
	}
}
