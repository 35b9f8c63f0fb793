package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/doctor"
	"github.com/vigie/vigie/internal/notify/setup"
	"github.com/vigie/vigie/internal/watches"
)

// What the package's unit runs vigie with (dist/vigie.service).
const (
	unitConfig  = "/etc/vigie/vigie.yaml"
	unitDataDir = "/var/lib/vigie"
)

func doctorCommand() *command {
	return &command{name: "doctor", summary: "what vigie would watch on this machine, and why not the rest", run: runDoctor}
}

func runDoctor(ctx context.Context, env *Env, args []string) int {
	f := newFlags(env, "vigie doctor", "[--config FILE] [--json] [--send-test] [--timeout D] [--user NAME]", `
Says what vigie would watch on this machine with this configuration, and
why not the rest, each with the fix: the mail log (file or journal) and the
queue; whether the policy server would start (and exactly why not under
policy.enabled: auto), whether Postfix's running configuration points its
policy lines and milters at vigie, and whether vigie answers there; the web
roots and access logs; the blocklist targets and resolver; the DNS
inventory (domains, parent zones, bad lines), its resolver and the parent
servers of its largest zones (asked for a sample domain), the RDAP
bootstrap and its age; the CT logs (each asked for its tree head); the
notifiers (--send-test sends each a test message); and whether the account
vigie runs as can read what it needs. Each line is ok, off (nothing to
watch here, and the configuration does not ask for it), warn or fail, with
the fix. Without --config (or VIGIE_CONFIG) it reads what the package's
unit runs with, /etc/vigie/vigie.yaml and /var/lib/vigie, when that file
exists, else the embedded defaults. Nothing is changed. Exit status 0 when
vigie would watch something and nothing failed, 1 otherwise.`)
	cfgPath := f.configFlag()
	asJSON := f.Bool("json", false, "print one JSON object: checks (watch, item, status, found, fix), summary, ok")
	sendTest := f.Bool("send-test", false, "send a test message through each configured notifier")
	timeout := f.Duration("timeout", 10*time.Second, "bound on each network check (a CT log, a notifier)")
	as := f.String("user", "", "say whether this user (with its groups) could read what vigie needs; default: the vigie user with the unit's groups (adm, systemd-journal) when it exists, else you")
	if code, ok := f.parse(args); !ok {
		return code
	}
	if f.NArg() != 0 {
		return f.usageError("takes no arguments")
	}
	// Without --config (or VIGIE_CONFIG), the doctor looks at what the
	// package's unit runs: its configuration and data directory.
	path, unit := configPath(env, *cfgPath), false
	if path == "" {
		if _, err := os.Stat(unitConfig); err == nil {
			path, unit = unitConfig, true
		}
	}
	cfg, code, ok := loadConfig(env, path)
	if !ok {
		return code
	}
	dataFlag := env.data
	if unit && dataFlag == "" && env.Getenv("VIGIE_DATA") == "" && cfg.DataDir == "" {
		dataFlag = unitDataDir
	}
	acct := doctor.DaemonAccount()
	if *as != "" {
		a, err := doctor.UserAccount(*as)
		if err != nil {
			return f.usageError("--user: %v", err)
		}
		acct = a
	}
	denv := doctor.Env{Config: cfg, Account: acct, Timeout: *timeout}
	dataDir, dataErr := config.DataDir(dataFlag, env.Getenv, cfg)
	denv.DataDir = dataDir
	checks := vigieChecks(path, unit, cfg, denv, dataErr)
	// each watch answers for itself (its descriptor's Doctor hook)
	for _, d := range watches.All() {
		if d.Doctor != nil {
			checks = append(checks, d.Doctor(ctx, denv)...)
		}
	}
	checks = append(checks, notifierChecks(ctx, env, cfg, *sendTest, *timeout)...)
	if *asJSON {
		doctor.WriteJSON(env.Stdout, checks)
	} else {
		doctor.WriteText(env.Stdout, checks)
	}
	if doctor.Failed(checks) {
		return exitFail
	}
	return exitOK
}

// vigieChecks are about vigie itself: its configuration, its data
// directory and its HTTP listener.
func vigieChecks(path string, unit bool, cfg *config.Config, denv doctor.Env, dataErr error) []doctor.Check {
	const w = doctor.Self
	var out []doctor.Check
	if path == "" {
		out = append(out, doctor.Check{Watch: w, Item: "configuration", Status: doctor.OK,
			Found: "none given and no " + unitConfig + ": the embedded defaults (vigie config example)"})
	} else {
		ch := doctor.Check{Watch: w, Item: "configuration", Status: doctor.OK, Found: path + ": ok"}
		if unit {
			ch.Found = path + " (vigie.service's): ok"
		}
		if len(cfg.Warnings) > 0 {
			ch.Status, ch.Found = doctor.Warn, fmt.Sprintf("%s: %d warning(s): %s", path, len(cfg.Warnings), cfg.Warnings[0])
			ch.Fix = "vigie config check " + path + " lists them"
		} else if err := denv.Account.CanRead(path); err != nil {
			ch.Status, ch.Found, ch.Fix = doctor.Fail, err.Error(), "chgrp vigie "+path+"; chmod 0640 "+path
		}
		out = append(out, ch)
	}
	dir := denv.DataDir
	if dataErr != nil {
		out = append(out, doctor.Check{Watch: w, Item: "data directory", Status: doctor.Fail, Found: dataErr.Error(), Fix: "set --data or data_dir"})
	} else if _, err := os.Stat(dir); err != nil {
		out = append(out, doctor.Check{Watch: w, Item: "data directory", Status: doctor.OK, Found: dir + " (made at the first start)"})
	} else if _, err := os.Stat(filepath.Join(dir, "vigie.db")); err == nil {
		out = append(out, doctor.Check{Watch: w, Item: "data directory", Status: doctor.OK, Found: dir + " (holds a store)"})
	} else {
		out = append(out, doctor.Check{Watch: w, Item: "data directory", Status: doctor.OK, Found: dir})
	}
	if dataErr == nil {
		if err := denv.Account.CanWrite(dir); err != nil && !os.IsNotExist(err) {
			last := &out[len(out)-1]
			last.Status, last.Found = doctor.Fail, err.Error()+": vigie keeps its store and state there"
			last.Fix = fmt.Sprintf("chown -R %s %s (the package's postinst makes it vigie:vigie 0750)", denv.Account.Name, dir)
		}
	}
	if l := cfg.HTTP.Listen; l != "" {
		ch := doctor.Check{Watch: w, Item: "http", Status: doctor.OK, Found: "dashboard, /metrics and /healthz on " + l}
		if cfg.HTTP.LoginRequired() {
			ch.Found += " (login required)"
		}
		if ln, err := net.Listen("tcp", l); err != nil {
			ch.Found += "; in use now (a running vigie, or another program): " + err.Error()
		} else {
			ln.Close()
		}
		out = append(out, ch)
	}
	return out
}

// notifierChecks lists the notifiers and, on request, sends each a test
// message, as vigie notify test does.
func notifierChecks(ctx context.Context, env *Env, cfg *config.Config, send bool, timeout time.Duration) []doctor.Check {
	const w = doctor.Notifier
	built, err := setup.Build(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return []doctor.Check{{Watch: w, Item: "notifiers", Status: doctor.Fail, Found: err.Error(), Fix: "fix the notify section (vigie config check)"}}
	}
	if len(built.Notifiers) == 0 {
		return []doctor.Check{{Watch: w, Item: "notifiers", Status: doctor.Warn, Found: "none: alerts reach the dashboard and the log only",
			Fix: "configure email, a webhook, Matrix, ntfy, Slack or Alertmanager under notify:"}}
	}
	var out []doctor.Check
	for _, n := range built.Notifiers {
		ch := doctor.Check{Watch: w, Item: "notifier " + n.Name(), Status: doctor.OK, Found: "configured (--send-test sends it a test message)"}
		if send {
			if err := sendTestMessage(ctx, cfg, n, timeout); err != nil {
				ch.Status, ch.Found, ch.Fix = doctor.Fail, "test message failed: "+err.Error(), "check its address and credentials"
			} else {
				ch.Found = "test message delivered"
			}
		}
		out = append(out, ch)
	}
	return out
}
