package mail

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/doctor"
)

// Doctor says what the mail watch would read on this machine: the log
// (file or journal, as New decides) and the queue (postqueue -j).
func Doctor(ctx context.Context, env doctor.Env) []doctor.Check {
	cfg := env.Config.Mail
	const w = string(Name)
	if cfg.Enabled == config.SwitchOff {
		return []doctor.Check{{Watch: w, Item: "mail log", Status: doctor.Off, Found: "mail.enabled: off"}}
	}
	var out []doctor.Check
	missing := doctor.Off
	if cfg.Enabled == config.SwitchOn {
		missing = doctor.Fail
	}
	fi, statErr := os.Stat(cfg.LogFile)
	fileThere := statErr == nil && cfg.LogFile != ""
	journal := cfg.Source != "file" && JournalHasPostfix(ctx, cfg.Journalctl)
	switch {
	case fileThere && cfg.Source != "journal":
		if err := env.Account.CanRead(cfg.LogFile); err != nil {
			out = append(out, doctor.Check{Watch: w, Item: "mail log", Status: doctor.Fail, Found: err.Error(),
				Fix: fmt.Sprintf("let the %s user read it (the unit adds the adm group: chgrp adm %s; chmod g+r %s)", env.Account.Name, cfg.LogFile, cfg.LogFile)})
		} else {
			out = append(out, doctor.Check{Watch: w, Item: "mail log", Status: doctor.OK,
				Found: fmt.Sprintf("%s (%d bytes, written %s)", cfg.LogFile, fi.Size(), fi.ModTime().UTC().Format(time.RFC3339))})
		}
	case journal:
		out = append(out, doctor.Check{Watch: w, Item: "mail log", Status: doctor.OK,
			Found: fmt.Sprintf("no %s, but the journal holds Postfix lines (mail.source: %s reads it with %s)", cfg.LogFile, cfg.Source, cfg.Journalctl)})
	default:
		found := fmt.Sprintf("no %s and no Postfix lines in the journal", cfg.LogFile)
		if cfg.Source == "file" {
			found = fmt.Sprintf("no %s (mail.source: file)", cfg.LogFile)
		}
		out = append(out, doctor.Check{Watch: w, Item: "mail log", Status: missing, Found: found,
			Fix: "point mail.log_file at Postfix's log (syslog's mail.log, or Postfix's maillog_file), or install rsyslog; " +
				"with Postfix logging to the journal only, set mail.source: journal"})
		return out
	}

	if cfg.Queue.Enabled == config.SwitchOff {
		out = append(out, doctor.Check{Watch: w, Item: "queue", Status: doctor.Off, Found: "mail.queue.enabled: off"})
		return out
	}
	if _, err := exec.LookPath(cfg.Queue.Postqueue); err != nil {
		st := doctor.Warn
		if cfg.Queue.Enabled == config.SwitchOn {
			st = doctor.Fail
		}
		out = append(out, doctor.Check{Watch: w, Item: "queue", Status: st, Found: fmt.Sprintf("%s not found: the queue is read from the log only", cfg.Queue.Postqueue),
			Fix: "install Postfix here or set mail.queue.postqueue"})
		return out
	}
	snap, err := ReadQueue(ctx, cfg.Queue.Postqueue, cfg.Queue.ConfigDir, time.Now(), 1)
	if err != nil {
		out = append(out, doctor.Check{Watch: w, Item: "queue", Status: doctor.Fail, Found: "postqueue -j failed: " + err.Error(),
			Fix: "check that Postfix runs and postfix.config_dir is its configuration directory"})
		return out
	}
	out = append(out, doctor.Check{Watch: w, Item: "queue", Status: doctor.OK,
		Found: fmt.Sprintf("postqueue -j reads it: %d message(s) queued, oldest %s", snap.Total, snap.OldestAge.Round(time.Second))})
	return out
}
