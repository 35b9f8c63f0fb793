package blocklist

import (
	"context"
	"fmt"
	"strings"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/doctor"
	"github.com/vigie/vigie/internal/mailqueue"
)

// Doctor says which addresses and domains the blocklist watch would look
// up here (the watch's own discovery: Postfix's sending addresses, else
// the interfaces' public ones, plus the configured targets) and through
// which resolver.
func Doctor(ctx context.Context, env doctor.Env) []doctor.Check {
	c := env.Config.Blocklist
	const w = string(Name)
	if c.Enabled == config.SwitchOff {
		return []doctor.Check{{Watch: w, Item: "targets", Status: doctor.Off, Found: "blocklist.enabled: off"}}
	}
	c.PostfixConfigDir = mailqueue.ConfigDirectory(ctx, env.Config.Postfix.ConfigDir, "")
	var out []doctor.Check
	targets, notes, err := TargetsFromConfig(c).Resolve(ctx)
	switch {
	case err != nil:
		out = append(out, doctor.Check{Watch: w, Item: "targets", Status: doctor.Fail, Found: "discovery failed: " + err.Error(),
			Fix: "set blocklist.ips (the server's public sending addresses) and blocklist.domains"})
	case len(targets) == 0:
		st := doctor.Off
		if c.Enabled == config.SwitchOn {
			st = doctor.Fail
		}
		found := "no public sending address found and no target configured"
		if len(notes) > 0 {
			found += " (" + strings.Join(notes, "; ") + ")"
		}
		out = append(out, doctor.Check{Watch: w, Item: "targets", Status: st, Found: found,
			Fix: "behind NAT or on a private address, set blocklist.ips to the public address Postfix sends from; add blocklist.domains for the domain lists"})
		return out
	default:
		var names []string
		for _, t := range targets {
			names = append(names, fmt.Sprintf("%s (%s)", t.Name, t.Source))
		}
		found := fmt.Sprintf("%d target(s): %s", len(targets), strings.Join(names, ", "))
		out = append(out, doctor.Check{Watch: w, Item: "targets", Status: doctor.OK, Found: found})
	}
	res, err := ResolverFor(c.Resolver, ResolvConf, c.Timeout)
	if err != nil {
		out = append(out, doctor.Check{Watch: w, Item: "resolver", Status: doctor.Fail, Found: err.Error(),
			Fix: "set blocklist.resolver to a resolver of your own (unbound on this machine: 127.0.0.1:53)"})
		return out
	}
	if warns := res.PublicResolverWarnings(); len(warns) > 0 {
		out = append(out, doctor.Check{Watch: w, Item: "resolver", Status: doctor.Warn, Found: strings.Join(warns, "; "),
			Fix: "run a resolver of your own (apt install unbound) and set blocklist.resolver: 127.0.0.1:53"})
	} else {
		r := c.Resolver
		if r == "" {
			r = "the system's (" + ResolvConf + ")"
		}
		out = append(out, doctor.Check{Watch: w, Item: "resolver", Status: doctor.OK, Found: r})
	}
	return out
}
