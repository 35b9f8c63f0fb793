package policy

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"

	"github.com/vigie/vigie/internal/mail"
	"github.com/vigie/vigie/internal/watch"
)

// Name is the policy server's name as a watch.
const Name watch.Name = "policy"

// Descriptor is the policy server as the rest of vigie knows it.
func Descriptor() *watch.Descriptor {
	return &watch.Descriptor{Name: Name, Title: "Policy", Build: Build}
}

// Build runs the Postfix policy server when policy.enabled is on, or auto
// and Postfix is configured to ask it: its main.cf or master.cf names one
// of the policy.listen addresses in a check_policy_service.
func Build(d watch.Deps) ([]watch.Watch, error) {
	p := d.Config.Policy
	dir := p.Postfix.ConfigDir
	if dir == "" {
		dir = "/etc/postfix"
	}
	if !p.Enabled.On(postfixAsksVigie(dir, p.Listen)) {
		return nil, nil
	}
	s, err := New(Options{Config: p, Store: d.Store, Sink: d.Sink, Logger: d.Logger,
		Metrics: d.Metrics, Now: d.Now, Node: d.Config.Node, LogIndex: mail.LogOwners{Config: d.Config.Mail}})
	if err != nil {
		return nil, err
	}
	return []watch.Watch{s}, nil
}

func postfixAsksVigie(dir string, listen []string) bool {
	for _, f := range []string{"main.cf", "master.cf"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || !bytes.Contains(b, []byte("check_policy_service")) {
			continue
		}
		for _, l := range listen {
			addr := strings.TrimPrefix(l, "unix:")
			if bytes.Contains(b, []byte(addr)) || strings.HasPrefix(l, "unix:") && bytes.Contains(b, []byte(filepath.Base(addr))) {
				return true
			}
		}
	}
	return false
}
