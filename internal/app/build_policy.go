package app

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"

	"github.com/vigie/vigie/internal/mail"
	"github.com/vigie/vigie/internal/policy"
)

// buildPolicy runs the Postfix policy server when policy.enabled is on,
// or auto and Postfix is configured to ask it: its main.cf or master.cf
// names one of the policy.listen addresses in a check_policy_service, or
// a policy.milter address in smtpd_milters or non_smtpd_milters.
func buildPolicy(d Deps) ([]Watch, error) {
	p := d.Config.Policy
	dir := p.Postfix.ConfigDir
	if dir == "" {
		dir = "/etc/postfix"
	}
	asks := postfixAsksVigie(dir, "check_policy_service", p.Listen) ||
		postfixAsksVigie(dir, "_milters", []string{p.Milter.Listen, p.Milter.LocalListen})
	if !p.Enabled.On(asks) {
		return nil, nil
	}
	s, err := policy.New(policy.Options{Config: p, Store: d.Store, Sink: d.Sink, Logger: d.Logger,
		Metrics: d.Metrics, Now: d.Now, Node: d.Config.Node, LogIndex: mail.LogOwners{Config: d.Config.Mail}})
	if err != nil {
		return nil, err
	}
	return []Watch{s}, nil
}

func postfixAsksVigie(dir, setting string, listen []string) bool {
	for _, f := range []string{"main.cf", "master.cf"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || !bytes.Contains(b, []byte(setting)) {
			continue
		}
		for _, l := range listen {
			if l == "" {
				continue
			}
			addr := strings.TrimPrefix(l, "unix:")
			if bytes.Contains(b, []byte(addr)) || strings.HasPrefix(l, "unix:") && bytes.Contains(b, []byte(filepath.Base(addr))) {
				return true
			}
		}
	}
	return false
}
