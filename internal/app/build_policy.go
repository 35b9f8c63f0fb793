package app

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
	"github.com/vigie/vigie/internal/policy"
)

// buildPolicy runs the Postfix policy server when policy.enabled is on,
// or auto and Postfix is configured to ask it: its main.cf or master.cf
// names one of the policy.listen addresses in a check_policy_service, or
// a policy.milter address in smtpd_milters or non_smtpd_milters. Under auto, when it starts nothing, the log says why and what to do:
// Postfix told to ask a server that is not there would be worse than
// silent, and a config_dir pointing elsewhere must not look like "off".
func buildPolicy(d Deps) ([]Watch, error) {
	p := d.Config.Policy
	if p.Enabled == config.SwitchOff {
		return nil, nil
	}
	dir := mailqueue.ConfigDirectory(context.Background(), d.Config.Postfix.ConfigDir, "")
	asks, why := PostfixAsksVigie(dir, p.Listen)
	if !asks {
		if ok, w := postfixNamesMilter(dir, []string{p.Milter.Listen, p.Milter.LocalListen}); ok {
			asks, why = true, w
		}
	}
	if !p.Enabled.On(asks) {
		d.Logger.Info("policy server off (policy.enabled: auto): "+why, "component", "policy", "postfix_config_dir", dir)
		return nil, nil
	}
	s, err := policy.New(policy.Options{Config: p, Store: d.Store, Sink: d.Sink, Logger: d.Logger,
		Metrics: d.Metrics, Now: d.Now, Node: d.Config.Node, LogIndex: mail.LogOwners{Config: d.Config.Mail}})
	if err != nil {
		return nil, err
	}
	return []Watch{s}, nil
}

// PostfixAsksVigie says whether main.cf or master.cf in dir has a
// check_policy_service naming one of the listen addresses, and if not,
// why not and what to do, in words for the log and vigie doctor.
func PostfixAsksVigie(dir string, listen []string) (bool, string) {
	var read []string
	sawCheck := false
	for _, f := range []string{"main.cf", "master.cf"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				return false, fmt.Sprintf("cannot read %s: %v (vigie's user must read Postfix's configuration)", filepath.Join(dir, f), err)
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
				return true, fmt.Sprintf("%s names %s in a check_policy_service", filepath.Join(dir, f), l)
			}
		}
	}
	switch {
	case len(read) == 0:
		return false, fmt.Sprintf("no main.cf in %s: Postfix is not installed here or keeps its configuration elsewhere (set postfix.config_dir)", dir)
	case sawCheck:
		return false, fmt.Sprintf("%s has a check_policy_service, but for none of policy.listen %v: point it at vigie (vigie postfix-config) or fix policy.listen", dir, listen)
	default:
		return false, fmt.Sprintf("Postfix in %s asks no policy server: add the lines 'vigie postfix-config' prints, or set policy.enabled: on", dir)
	}
}

// postfixNamesMilter says whether main.cf or master.cf in dir names one of
// vigie's milter addresses in a *_milters setting.
func postfixNamesMilter(dir string, addrs []string) (bool, string) {
	for _, f := range []string{"main.cf", "master.cf"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
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
