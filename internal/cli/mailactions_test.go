package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigie/vigie/internal/policy"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/store/sqlite"
)

// runActionCLI runs the command line with stdin and SUDO_USER=ops, stdout and
// stderr together.
func runActionCLI(t *testing.T, stdin string, args ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	code := Main(context.Background(), Env{Args: args, Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &out,
		Getenv: func(k string) string {
			if k == "SUDO_USER" {
				return "ops"
			}
			return ""
		}})
	return code, out.String()
}

func TestMailActionUsage(t *testing.T) {
	data := t.TempDir()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"mail", "hold"}, "choose exactly one of --sasl-user, --sender and --uid"},
		{[]string{"mail", "release", "--sasl-user", "a", "--sender", "b"}, "choose exactly one"},
		{[]string{"mail", "purge", "--uid", "x"}, "invalid value"},
		{[]string{"mail", "suspend"}, "expected one USER"},
		{[]string{"mail", "resume", "a", "b"}, "expected one USER"},
		{[]string{"mail", "hold", "--sender", "a", "extra"}, "unexpected arguments"},
	}
	for _, c := range cases {
		code, out := runActionCLI(t, "", append([]string{"--data", data}, c.args...)...)
		if code != exitUsage || !strings.Contains(out, c.want) {
			t.Errorf("%v: exit %d, output:\n%s", c.args, code, out)
		}
	}
	if code, out := runActionCLI(t, "", "mail", "purge", "--help"); code != exitOK || !strings.Contains(out, "--yes") || !strings.Contains(out, "postsuper -d") {
		t.Errorf("purge --help: exit %d\n%s", code, out)
	}
}

// Suspending and resuming need no Postfix with --no-hold: they go to the
// store, with the admin named in the audit log.
func TestSuspendResume(t *testing.T) {
	data := t.TempDir()
	if code, out := runActionCLI(t, "", "--data", data, "mail", "suspend", "mallory@example.org", "--no-hold", "--reason", "phished"); code != exitOK || !strings.Contains(out, "new mail is answered HOLD") {
		t.Fatalf("suspend: exit %d\n%s", code, out)
	}
	if code, out := runActionCLI(t, "", "--data", data, "mail", "suspend", "MALLORY@example.org", "--no-hold"); code != exitOK || !strings.Contains(out, "already suspended") {
		t.Errorf("suspend again: exit %d\n%s", code, out)
	}
	db, err := sqlite.Open(context.Background(), filepath.Join(data, "vigie.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m, err := policy.LoadSuspensions(context.Background(), db)
	if s, ok := m["mallory@example.org"]; err != nil || !ok || s.By != "ops" || s.Reason != "phished" {
		t.Errorf("suspensions: %+v %v", m, err)
	}
	if code, out := runActionCLI(t, "", "--data", data, "mail", "resume", "mallory@example.org"); code != exitOK || !strings.Contains(out, "vigie mail release --sasl-user") {
		t.Errorf("resume: exit %d\n%s", code, out)
	}
	if code, out := runActionCLI(t, "", "--data", data, "mail", "resume", "mallory@example.org"); code != exitOK || !strings.Contains(out, "was not suspended") {
		t.Errorf("resume again: exit %d\n%s", code, out)
	}
	audit, _ := db.ListAudit(context.Background(), store.AuditQuery{Actor: "ops"})
	if len(audit) != 2 {
		t.Errorf("audit: %+v", audit)
	}
}

func TestPostfixConfig(t *testing.T) {
	code, out := runActionCLI(t, "", "postfix-config")
	for _, want := range []string{"smtpd_end_of_data_restrictions = check_policy_service inet:127.0.0.1:10040",
		"smtpd_policy_service_default_action = DUNNO", "smtpd_policy_service_timeout"} {
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("exit %d; output lacks %q:\n%s", code, want, out)
		}
	}
	cfg := filepath.Join(t.TempDir(), "v.yaml")
	os.WriteFile(cfg, []byte("policy:\n  stage: DATA\n  listen: [unix:/var/spool/postfix/private/vigie]\n"), 0o644)
	code, out = runActionCLI(t, "", "postfix-config", "--config", cfg)
	if code != exitOK || !strings.Contains(out, "smtpd_data_restrictions = check_policy_service unix:/var/spool/postfix/private/vigie") ||
		!strings.Contains(out, "unix:private/vigie") {
		t.Errorf("unix socket, DATA: exit %d\n%s", code, out)
	}
}
