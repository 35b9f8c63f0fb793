package app

import (
	"context"
	"log/slog"
	"net/netip"

	"github.com/vigie/vigie/internal/blocklist"
	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/mail"
)

// buildMail builds the mail watch (none when mail is off, or auto and
// there is no Postfix log on this machine).
func buildMail(d Deps) ([]Watch, error) {
	log := d.Logger.With("component", "mail")
	w, err := mail.New(context.Background(), mail.Options{Config: d.Config.Mail, Store: d.Store, Sink: d.Sink,
		Logger: log, Metrics: d.Metrics, Now: d.Now, Delisting: MailDelisting(d.Config, log), Ours: MailOurs(d.Config, true, log)})
	if w == nil || err != nil {
		return nil, err
	}
	return []Watch{w}, nil
}

// MailDelisting lets the mail watch name a remote refusal's blocklist as
// the blocklist watch does (one alert for both) and carry its delisting
// steps, from the same zone data (built-in, blocklist.zones_file).
func MailDelisting(cfg *config.Config, log *slog.Logger) mail.DelistingFunc {
	c, err := blocklist.LoadCatalog(cfg.Blocklist.ZonesFile, cfg.Blocklist.DisableZones)
	if err != nil {
		log.Warn("blocklist data unreadable: remote refusals will not say how to get delisted", "err", err)
		return nil
	}
	return c.DelistingFor
}

// MailOurs says which addresses are ours for the mail watch's remote
// refusals: the blocklist watch's IP targets (blocklist.ips, or the
// sending addresses discovered from Postfix and the interfaces when
// discover is set, plus blocklist.extra_ips). Nil when none are known:
// then every refusal counts.
func MailOurs(cfg *config.Config, discover bool, log *slog.Logger) func(netip.Addr) bool {
	t := blocklist.TargetsFromConfig(cfg.Blocklist)
	if !discover {
		t.Discovery = nil
	}
	targets, _, err := t.Resolve(context.Background())
	if err != nil {
		log.Warn("our sending addresses unknown: every remote refusal counts", "err", err)
		return nil
	}
	ours := map[netip.Addr]bool{}
	for _, x := range targets {
		if x.IsIP() {
			ours[x.Addr.Unmap()] = true
		}
	}
	if len(ours) == 0 {
		return nil
	}
	return func(a netip.Addr) bool { return ours[a.Unmap()] }
}
