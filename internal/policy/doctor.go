package policy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/doctor"
	"github.com/vigie/vigie/internal/mailqueue"
	"github.com/vigie/vigie/internal/milter"
)

// Doctor says whether the policy server would start (what
// policy.enabled: auto decides, and exactly why not), whether Postfix's
// running configuration points its policy lines and its milters at
// vigie's addresses, and whether something answers there.
func Doctor(ctx context.Context, env doctor.Env) []doctor.Check {
	p := env.Config.Policy
	const w = string(Name)
	dir := mailqueue.ConfigDirectory(ctx, env.Config.Postfix.ConfigDir, "")
	mainCF := filepath.Join(dir, "main.cf")
	asks, why, fix := autoStarts(dir, &p)

	var out []doctor.Check
	server := doctor.Check{Watch: w, Item: "policy server"}
	runs := false
	switch {
	case p.Enabled == config.SwitchOff && asks:
		server.Status, server.Found = doctor.Fail, "policy.enabled: off, but "+why+": Postfix asks a server that is not there"
		server.Fix = "set policy.enabled: auto (it then starts), or remove vigie from Postfix's lines and run postfix reload"
	case p.Enabled == config.SwitchOff:
		return []doctor.Check{{Watch: w, Item: "policy server", Status: doctor.Off, Found: "policy.enabled: off"}}
	case p.Enabled == config.SwitchOn:
		runs = true
		server.Status, server.Found = doctor.OK, "policy.enabled: on: "+serves(&p)
	case asks:
		runs = true
		server.Status, server.Found = doctor.OK, "policy.enabled: auto starts it: "+why+"; "+serves(&p)
	default:
		server.Status, server.Found, server.Fix = doctor.Off, "policy.enabled: auto starts nothing: "+why, fix
		if odir, other := otherDirAsking(ctx, dir, &p); odir != "" {
			server.Status = doctor.Fail
			server.Found += "; but " + other + ": that Postfix asks a server vigie does not start"
			server.Fix = "set postfix.config_dir: " + odir
		}
	}
	// The daemon reads main.cf as its own user: under auto, a main.cf
	// this account cannot read starts nothing.
	if _, err := os.Stat(mainCF); err == nil && p.Enabled == config.SwitchAuto {
		if err := env.Account.CanRead(mainCF); err != nil {
			server.Status, server.Found = doctor.Fail, err.Error()+": under policy.enabled: auto the daemon would start no policy server"
			server.Fix = "chmod o+r " + mainCF + " (Postfix's default is 0644), or set policy.enabled: on"
			runs = false
		}
	}
	out = append(out, server)
	if _, err := os.Stat(mainCF); err != nil {
		return out
	}

	// What the running configuration says (postconf: main.cf with its
	// defaults, and master.cf's -o overrides), compared with the lines
	// `vigie postfix-config` prints.
	pc := Postconf{ConfigDir: env.Config.Postfix.ConfigDir}
	if _, err := exec.LookPath("postconf"); err != nil {
		pc.Program = "/usr/sbin/postconf"
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	mainN := make(chan string, 1)
	go func() {
		o, _ := pc.Run(cctx, "-n") // every parameter main.cf sets
		mainN <- o
	}()
	gaps, read, err := CheckPostfix(cctx, pc, PostfixWants(&p))
	setParams := <-mainN
	if err != nil {
		return append(out, doctor.Check{Watch: w, Item: "policy lines", Status: doctor.Warn, Found: "cannot read Postfix's running configuration: " + err.Error(),
			Fix: "run vigie doctor where Postfix's postconf is installed, or set postfix.config_dir"})
	}
	values := read.Values
	uses := PolicyServiceUses(setParams, read.Services, values["queue_directory"], p.Listen)
	out = append(out, policyLines(&p, runs, gaps, uses, values))
	if m, ok := milterLines(&p, runs, gaps); ok {
		out = append(out, m)
	}
	if runs || len(uses) > 0 {
		out = append(out, listeners(ctx, env.Timeout, &p, runs, len(uses) > 0, values)...)
	}
	return out
}

// serves says where the server listens.
func serves(p *config.Policy) string {
	s := "policy server on " + strings.Join(p.Listen, ", ")
	var ms []string
	for _, m := range []string{p.Milter.Listen, p.Milter.LocalListen} {
		if m != "" {
			ms = append(ms, m)
		}
	}
	if len(ms) > 0 {
		s += ", milter on " + strings.Join(ms, " and ")
	}
	return s
}

// otherDirAsking looks for another Postfix instance (alternate and
// multi-instance directories of the default one) whose configuration asks
// vigie: its directory and why, or "".
func otherDirAsking(ctx context.Context, looked string, p *config.Policy) (string, string) {
	pc := Postconf{}
	if _, err := exec.LookPath("postconf"); err != nil {
		pc.Program = "/usr/sbin/postconf"
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	o, err := pc.Run(cctx, "-h", "config_directory", "alternate_config_directories", "multi_instance_directories")
	if err != nil {
		return "", ""
	}
	for _, d := range postfixList(o) {
		if !filepath.IsAbs(d) || filepath.Clean(d) == filepath.Clean(looked) {
			continue
		}
		if asks, why, _ := autoStarts(d, p); asks {
			return d, why
		}
	}
	return "", ""
}

// policyLines is the check of the check_policy_service line.
func policyLines(p *config.Policy, runs bool, gaps []PostfixGap, uses []string, values map[string]string) doctor.Check {
	const w = string(Name)
	var mine []PostfixGap
	for _, g := range gaps {
		if !g.Want.Milter {
			mine = append(mine, g)
		}
	}
	want := RestrictionsFor(p.Stage)
	ch := doctor.Check{Watch: w, Item: "policy lines"}
	if len(mine) == 0 {
		ch.Status = doctor.OK
		ch.Found = fmt.Sprintf("%s has check_policy_service %s; smtpd_policy_service_default_action = DUNNO (fail-open)", want, ServiceAddr(p.Listen[0]))
		if !runs {
			ch.Status, ch.Fix = doctor.Fail, "set policy.enabled: auto or on"
			ch.Found += ", but vigie would start no policy server"
		}
		return ch
	}
	var lacks, overriddenBy []string
	mainLacks := false
	for _, g := range mine {
		lacks = append(lacks, g.String())
		if g.Want.Name == want {
			if g.Service == "" {
				mainLacks = true
			} else {
				overriddenBy = append(overriddenBy, g.Service)
			}
		}
	}
	ch.Found = strings.Join(lacks, "; ")
	ch.Fix = "add the lines 'vigie postfix-config' prints, then postfix reload ('vigie postfix-config --check' says the same)"
	// uses are "param" (main.cf) or "service/type/param" (master.cf -o)
	var rightStage, otherStage []string
	for _, u := range uses {
		if u == want || strings.HasSuffix(u, "/"+want) {
			rightStage = append(rightStage, u)
		} else {
			otherStage = append(otherStage, u)
		}
	}
	switch {
	case !runs && len(uses) == 0:
		ch.Status = doctor.Off
	case len(rightStage) > 0 && mainLacks:
		ch.Status = doctor.Warn
		ch.Found = fmt.Sprintf("only master.cf %s asks vigie: mail through Postfix's other smtpd services is not counted; %s",
			strings.Join(rightStage, ", "), ch.Found)
		ch.Fix = fmt.Sprintf("to count mail on every smtpd, put check_policy_service %s in %s in main.cf (vigie postfix-config prints it); if only those services should be counted, nothing to do", ServiceAddr(p.Listen[0]), want)
	case len(overriddenBy) > 0 && !mainLacks:
		ch.Status = doctor.Warn
		ch.Found = fmt.Sprintf("main.cf asks vigie, but master.cf service(s) %s override %s without it: their mail is not counted; %s",
			strings.Join(overriddenBy, ", "), want, ch.Found)
		ch.Fix = fmt.Sprintf("add check_policy_service %s to those services' -o %s in master.cf, then postfix reload", ServiceAddr(p.Listen[0]), want)
	case len(otherStage) > 0 && len(rightStage) == 0:
		ch.Status = doctor.Warn
		ch.Found = fmt.Sprintf("Postfix asks vigie in %s, but policy.stage is %s: vigie counts messages only in %s, so nothing is counted; %s",
			strings.Join(otherStage, ", "), p.Stage, want, ch.Found)
		ch.Fix = fmt.Sprintf("move check_policy_service %s to %s (or set policy.stage to match), then postfix reload", ServiceAddr(p.Listen[0]), want)
	case !runs:
		ch.Status, ch.Fix = doctor.Fail, "set policy.enabled: auto or on"
		ch.Found = fmt.Sprintf("Postfix asks vigie (%s), but vigie would start no policy server; %s", strings.Join(uses, ", "), ch.Found)
	default:
		ch.Status = doctor.Warn
		if len(uses) == 0 {
			ch.Found = "the policy server would run, but Postfix does not ask it: " + ch.Found
		}
	}
	return ch
}

// milterLines is the check of the *_milters lines; ok false when
// the configuration serves no milter.
func milterLines(p *config.Policy, runs bool, gaps []PostfixGap) (doctor.Check, bool) {
	if p.Milter.Listen == "" && p.Milter.LocalListen == "" {
		return doctor.Check{}, false
	}
	ch := doctor.Check{Watch: string(Name), Item: "milter lines"}
	var lacks []string
	for _, g := range gaps {
		if g.Want.Milter {
			lacks = append(lacks, g.String())
		}
	}
	if len(lacks) == 0 {
		ch.Status, ch.Found = doctor.OK, "smtpd_milters and non_smtpd_milters name vigie's milter, failing open (milter_default_action = accept), with the macros it needs"
		if !runs {
			ch.Status, ch.Fix = doctor.Fail, "set policy.enabled: auto or on"
			ch.Found += ", but vigie would start no milter"
		}
		return ch, true
	}
	ch.Found = strings.Join(lacks, "; ")
	ch.Fix = "mail sent with sendmail (web sites, cron) passes no policy server: add the milter lines 'vigie postfix-config' prints, then postfix reload"
	ch.Status = doctor.Off
	if runs {
		ch.Status = doctor.Warn
	}
	return ch, true
}

// listeners says whether vigie answers where Postfix connects: a policy
// request that counts nothing, a milter negotiation.
func listeners(ctx context.Context, timeout time.Duration, p *config.Policy, runs, asked bool, values map[string]string) []doctor.Check {
	const w = string(Name)
	var out []doctor.Check
	for _, l := range p.Listen {
		ch := doctor.Check{Watch: w, Item: "policy listener " + l}
		answer, err := Probe(ctx, l, timeout)
		switch {
		case err == nil:
			ch.Status, ch.Found = doctor.OK, "answers the policy protocol ("+answer+" to a request that counts nothing)"
			if !runs {
				ch.Status, ch.Found = doctor.Warn, "a policy server answers ("+answer+"), but this configuration would start none: another vigie, or another program"
			}
		case isRefused(err):
			ch.Found = "nothing listens: " + err.Error()
			ch.Status, ch.Fix = doctor.Warn, "start vigie (systemctl start vigie); until then Postfix falls back to smtpd_policy_service_default_action"
			if da := values["smtpd_policy_service_default_action"]; asked && da != "" && da != "DUNNO" {
				ch.Status = doctor.Fail
				ch.Found += fmt.Sprintf("; Postfix asks it and smtpd_policy_service_default_action is %q: its mail is refused now", da)
				ch.Fix = "start vigie, and set smtpd_policy_service_default_action = DUNNO (fail-open)"
			}
		default:
			ch.Status, ch.Found = doctor.Fail, err.Error()
			ch.Fix = "another program holds " + l + ": vigie could not listen there; free it or change policy.listen (and Postfix's line)"
		}
		out = append(out, ch)
	}
	for _, m := range []string{p.Milter.Listen, p.Milter.LocalListen} {
		if m == "" {
			continue
		}
		ch := doctor.Check{Watch: w, Item: "milter listener " + m}
		network, addr := "tcp", m
		if path, ok := strings.CutPrefix(m, "unix:"); ok {
			network, addr = "unix", path
		}
		err := milter.Probe(ctx, network, addr, timeout)
		switch {
		case err == nil:
			ch.Status, ch.Found = doctor.OK, "a milter answers (protocol negotiated)"
			if !runs {
				ch.Status, ch.Found = doctor.Warn, "a milter answers, but this configuration would start none: another vigie, or another program"
			}
		case isRefused(err):
			ch.Status, ch.Found = doctor.Warn, "nothing listens: "+err.Error()
			ch.Fix = "start vigie (systemctl start vigie); until then Postfix applies milter_default_action"
			if da := values["milter_default_action"]; da != "" && da != "accept" && asked {
				ch.Found += fmt.Sprintf("; milter_default_action is %q", da)
			}
		default:
			ch.Status, ch.Found = doctor.Fail, err.Error()
			ch.Fix = "another program holds " + m + ": vigie could not listen there; free it or change policy.milter"
		}
		out = append(out, ch)
	}
	return out
}

// isRefused: nothing listens there (a closed port, no socket file).
func isRefused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT)
}
