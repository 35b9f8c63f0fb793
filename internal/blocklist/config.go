package blocklist

import (
	"log/slog"

	"github.com/vigie/vigie/internal/config"
)

// ResolvConf is where the system's resolver is read from.
const ResolvConf = "/etc/resolv.conf"

// FromConfig builds the watch of a configuration section; o brings the
// sink, store, logger, metrics and clock. It also returns the targets, so
// the caller can tell whether there is anything to check. Public
// resolvers are warned about on log.
func FromConfig(c config.Blocklist, o Options, log *slog.Logger) (*Watch, *Targets, error) {
	cat, err := LoadCatalog(c.ZonesFile, c.DisableZones)
	if err != nil {
		return nil, nil, err
	}
	res, err := ResolverFor(c.Resolver, ResolvConf, c.Timeout)
	if err != nil {
		return nil, nil, err
	}
	for _, w := range res.PublicResolverWarnings() {
		log.Warn(w)
	}
	targets := TargetsFromConfig(c)
	o.Catalog, o.Resolver, o.Targets, o.Interval = cat, res, targets, c.Interval
	return New(o), targets, nil
}

// TargetsFromConfig is what the configuration says to check.
func TargetsFromConfig(c config.Blocklist) *Targets {
	return &Targets{IPs: c.IPs, ExtraIPs: c.ExtraIPs, Domains: c.Domains,
		Discovery: &Discovery{PostfixDir: c.PostfixConfigDir}}
}
