package app

import (
	"os"
	"path/filepath"

	"github.com/vigie/vigie/internal/policy"
)

// buildPolicy runs the Postfix policy server when policy.enabled is on,
// or auto and Postfix is installed (its main.cf exists).
func buildPolicy(d Deps) ([]Watch, error) {
	p := d.Config.Policy
	dir := p.Postfix.ConfigDir
	if dir == "" {
		dir = "/etc/postfix"
	}
	_, err := os.Stat(filepath.Join(dir, "main.cf"))
	if !p.Enabled.On(err == nil) {
		return nil, nil
	}
	s, err := policy.New(policy.Options{Config: p, Store: d.Store, Sink: d.Sink, Logger: d.Logger,
		Metrics: d.Metrics, Now: d.Now})
	if err != nil {
		return nil, err
	}
	return []Watch{s}, nil
}
