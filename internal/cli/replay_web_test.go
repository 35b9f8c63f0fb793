package cli

import (
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
	changes, out, errOut := replayJSON(t, access)
	var found bool
	for _, c := range changes {
		if c.Watch == "web" && c.Change == "fired" && c.Time == "2017-07-07T10:04:12Z" && strings.Contains(c.Rule, "drupalgeddon") {
			found = true
		}
	}
	if !found {
		t.Errorf("no Drupalgeddon 2 alert at 10:04:12:\n%s\n%s", out, errOut)
	}
	if !strings.Contains(errOut, "access-log") {
		t.Errorf("the summary does not count access-log lines: %s", errOut)
	}
}
