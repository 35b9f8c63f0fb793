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
	"github.com/vigie/vigie/internal/testutil"
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
		{[]string{"mail", "hold"}, "choose exactly one of --sasl-user, --sender, --uid and --client"},
		{[]string{"mail", "hold", "--client", "not-an-ip"}, "--client: \"not-an-ip\" is not an IP address"},
		{[]string{"mail", "suspend", "--uid", "33", "--client", "127.0.0.1"}, "expected one of --sasl-user USER, --uid N or --client ADDRESS"},
		{[]string{"mail", "release", "--sasl-user", "a", "--sender", "b"}, "choose exactly one"},
		{[]string{"mail", "purge", "--uid", "x"}, "invalid value"},
		{[]string{"mail", "suspend"}, "expected one of --sasl-user USER, --uid N or --client ADDRESS"},
		{[]string{"mail", "resume", "a", "b"}, "expected one of"},
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
	if code, out := runActionCLI(t, "", "--data", data, "mail", "suspend", "mallory@example.org", "--no-hold", "--reason", "phished"); code != exitOK || !strings.Contains(out, "its new mail is held (undo: vigie mail resume --sasl-user mallory@example.org)") {
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
	// a uid and a client are subjects too; a SASL account named "uid:33"
	// is not the uid
	if code, out := runActionCLI(t, "", "--data", data, "mail", "suspend", "--uid", "33", "--no-hold"); code != exitOK || !strings.Contains(out, `suspended "uid:33"`) {
		t.Errorf("suspend --uid: exit %d\n%s", code, out)
	}
	if code, out := runActionCLI(t, "", "--data", data, "mail", "suspend", "--sasl-user", "uid:33", "--no-hold"); code != exitOK || !strings.Contains(out, `suspended "sasl:uid:33"`) {
		t.Errorf("suspend --sasl-user uid:33: exit %d\n%s", code, out)
	}
	if code, out := runActionCLI(t, "", "--data", data, "mail", "suspend", "--client", "::ffff:127.0.0.1", "--no-hold"); code != exitOK || !strings.Contains(out, `suspended "client:127.0.0.1"`) {
		t.Errorf("suspend --client: exit %d\n%s", code, out)
	}
	m, _ = policy.LoadSuspensions(context.Background(), db)
	for _, k := range []string{"uid:33", "sasl:uid:33", "client:127.0.0.1"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no suspension %q in %v", k, m)
		}
	}
	if code, out := runActionCLI(t, "", "--data", data, "mail", "resume", "--uid", "33"); code != exitOK || !strings.Contains(out, "vigie mail release --uid 33") {
		t.Errorf("resume --uid: exit %d\n%s", code, out)
	}
	audit, _ := db.ListAudit(context.Background(), store.AuditQuery{Actor: "ops"})
	if len(audit) != 6 {
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

// --check asks the real postconf: an empty main.cf lacks everything; the
// lines postfix-config prints satisfy it; a master.cf service that
// overrides smtpd_milters without vigie is reported.
func TestPostfixConfigCheck(t *testing.T) {
	testutil.RequireProgram(t, "postconf")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "v.yaml")
	etc := filepath.Join(dir, "etc")
	os.MkdirAll(etc, 0o755)
	os.WriteFile(cfg, []byte("postfix:\n  config_dir: "+etc+"\n"), 0o644)
	os.WriteFile(filepath.Join(etc, "main.cf"), []byte("compatibility_level = 3.6\n"), 0o644)
	os.WriteFile(filepath.Join(etc, "master.cf"), []byte("smtp inet n - n - - smtpd\n"), 0o644)
	code, out := runActionCLI(t, "", "postfix-config", "--check", "--config", cfg)
	for _, want := range []string{"MISSING smtpd_milters: lacks inet:127.0.0.1:10041", "MISSING non_smtpd_milters: lacks inet:127.0.0.1:10042",
		"MISSING milter_default_action: should be accept", "MISSING smtpd_end_of_data_restrictions: lacks check_policy_service inet:127.0.0.1:10040",
		"MISSING milter_mail_macros: lacks {client_addr}"} {
		if code != exitFail || !strings.Contains(out, want) {
			t.Errorf("empty main.cf: exit %d, lacks %q:\n%s", code, want, out)
		}
	}
	// the printed lines, added to main.cf
	_, printed := runActionCLI(t, "", "postfix-config", "--config", cfg)
	main := "compatibility_level = 3.6\n"
	for _, l := range strings.Split(printed, "\n") {
		if strings.HasPrefix(l, "# ---- master.cf") {
			break
		}
		if l != "" && !strings.HasPrefix(l, "#") {
			main += l + "\n"
		}
	}
	os.WriteFile(filepath.Join(etc, "main.cf"), []byte(main), 0o644)
	if code, out := runActionCLI(t, "", "postfix-config", "--check", "--config", cfg); code != exitOK || !strings.Contains(out, "ok: every path") {
		t.Errorf("with the printed lines: exit %d\n%s", code, out)
	}
	os.WriteFile(filepath.Join(etc, "master.cf"), []byte("smtp inet n - n - - smtpd\nsubmission inet n - n - - smtpd\n  -o smtpd_milters=inet:127.0.0.1:8891\n"), 0o644)
	if code, out := runActionCLI(t, "", "postfix-config", "--check", "--config", cfg); code != exitFail ||
		!strings.Contains(out, "MISSING master.cf service submission/inet overrides smtpd_milters: lacks inet:127.0.0.1:10041") {
		t.Errorf("override without vigie: exit %d\n%s", code, out)
	}
}
