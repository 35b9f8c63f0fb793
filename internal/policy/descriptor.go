package policy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/mail"
	"github.com/vigie/vigie/internal/mailqueue"
	"github.com/vigie/vigie/internal/watch"
)

// Name is the policy server's name as a watch.
const Name watch.Name = "policy"

// Descriptor is the policy server as the rest of vigie knows it.
func Descriptor() *watch.Descriptor {
	return &watch.Descriptor{Name: Name, Title: "Policy", Build: Build, Doctor: Doctor,
		Grouping: &watch.Grouping{Key: watch.AccountKey},
	}
}

// Build runs the Postfix policy server when policy.enabled is on,
// or auto and Postfix is configured to ask it: its main.cf or master.cf
// names one of the policy.listen addresses in a check_policy_service, or
// a policy.milter address in smtpd_milters or non_smtpd_milters. Under auto, when it starts nothing, the log says why and what to do:
// Postfix told to ask a server that is not there would be worse than
// silent, and a config_dir pointing elsewhere must not look like "off".
func Build(d watch.Deps) ([]watch.Watch, error) {
	p := d.Config.Policy
	if p.Enabled == config.SwitchOff {
		return nil, nil
	}
	dir := mailqueue.ConfigDirectory(context.Background(), d.Config.Postfix.ConfigDir, "")
	asks, why, fix := autoStarts(dir, &p)
	if !p.Enabled.On(asks) {
		if fix != "" {
			why += ": " + fix
		}
		d.Logger.Info("policy server off (policy.enabled: auto): "+why, "component", "policy", "postfix_config_dir", dir)
		return nil, nil
	}
	s, err := New(Options{Config: p, Store: d.Store, Sink: d.Sink, Logger: d.Logger,
		Metrics: d.Metrics, Now: d.Now, Node: d.Config.Node, LogIndex: mail.LogOwners{Config: d.Config.Mail}})
	if err != nil {
		return nil, err
	}
	return []watch.Watch{s}, nil
}

// autoStarts is what policy.enabled: auto decides: whether Postfix's
// configuration in dir asks vigie's policy server or names its milter;
// why (or why not), and when not, what to do, in words for the log and
// vigie doctor.
func autoStarts(dir string, p *config.Policy) (asks bool, why, fix string) {
	asks, why, fix = postfixAsks(dir, p.Listen)
	if !asks {
		if ok, w := postfixNamesMilter(dir, []string{p.Milter.Listen, p.Milter.LocalListen}); ok {
			return true, w, ""
		}
	}
	return asks, why, fix
}

// PostfixAsksVigie says whether main.cf or master.cf in dir has a
// check_policy_service naming one of the listen addresses, and if not,
// why not and what to do, in words for the log and vigie doctor.
func PostfixAsksVigie(dir string, listen []string) (bool, string) {
	asks, why, fix := postfixAsks(dir, listen)
	if fix != "" {
		why += ": " + fix
	}
	return asks, why
}

// readPostfixFile reads main.cf or master.cf without its comment lines
// (a commented-out check_policy_service asks nothing).
func readPostfixFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []byte
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		if t := bytes.TrimLeft(line, " \t"); len(t) > 0 && t[0] == '#' {
			continue
		}
		out = append(out, line...)
	}
	return out, nil
}

func postfixAsks(dir string, listen []string) (bool, string, string) {
	var read []string
	sawCheck := false
	for _, f := range []string{"main.cf", "master.cf"} {
		b, err := readPostfixFile(filepath.Join(dir, f))
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				return false, fmt.Sprintf("cannot read %s: %v", filepath.Join(dir, f), err), "vigie's user must read Postfix's configuration"
			}
			continue
		}
		read = append(read, f)
		if !bytes.Contains(b, []byte("check_policy_service")) {
			continue
		}
		sawCheck = true
		for _, l := range listen {
			addr := strings.TrimPrefix(l, "unix:")
			if bytes.Contains(b, []byte(addr)) || strings.HasPrefix(l, "unix:") && bytes.Contains(b, []byte(filepath.Base(addr))) {
				return true, fmt.Sprintf("%s names %s in a check_policy_service", filepath.Join(dir, f), l), ""
			}
		}
	}
	switch {
	case len(read) == 0:
		return false, fmt.Sprintf("no main.cf in %s: Postfix is not installed here, or keeps its configuration elsewhere", dir), "set postfix.config_dir to the directory of Postfix's main.cf"
	case sawCheck:
		return false, fmt.Sprintf("%s has a check_policy_service, but for none of policy.listen %v", dir, listen), "point it at vigie (vigie postfix-config) or fix policy.listen"
	default:
		return false, fmt.Sprintf("Postfix in %s asks no policy server", dir), "add the lines 'vigie postfix-config' prints, or set policy.enabled: on"
	}
}

// postfixNamesMilter says whether main.cf or master.cf in dir names one of
// vigie's milter addresses in a *_milters setting.
func postfixNamesMilter(dir string, addrs []string) (bool, string) {
	for _, f := range []string{"main.cf", "master.cf"} {
		b, err := readPostfixFile(filepath.Join(dir, f))
		if err != nil || !bytes.Contains(b, []byte("_milters")) {
			continue
		}
		for _, l := range addrs {
			if l == "" {
				continue
			}
			addr := strings.TrimPrefix(l, "unix:")
			if bytes.Contains(b, []byte(addr)) {
				return true, fmt.Sprintf("%s names vigie's milter %s", filepath.Join(dir, f), l)
			}
		}
	}
	return false, ""
}
