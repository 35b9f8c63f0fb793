package mail

import (
	"context"
	"log/slog"
	"net/netip"

	"github.com/vigie/vigie/internal/blocklist"
	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
)

// Name is the mail watch's name.
const Name watch.Name = "mail"

// Descriptor is the mail watch as the rest of vigie knows it.
func Descriptor() *watch.Descriptor {
	return &watch.Descriptor{Name: Name, Title: "Mail", Build: Build, Doctor: Doctor,
		Series: []watch.Series{
			// One subject per queue (from postqueue -j; "total" and
			// "deferred" also from the log), value = messages in it.
			{Name: SeriesQueue, Title: "Mail queue", Unit: "messages",
				Subjects: []string{"total", "deferred", "active", "hold", "incoming"}, Overview: true},
			// Per account: the SASL login or "uid:N", as in the alert subject.
			{Name: SeriesAccountMessages, Title: "Messages sent per account or local uid", Unit: "per min"},
			{Name: SeriesAccountRecipients, Title: "Recipients per account or local uid", Unit: "per min"},
		},
		Panels:          []watch.Panel{holdsPanel()},
		HoldAccount:     HoldAccount,
		AlsoShows:       func(a *vigie.Alert) bool { return vigie.IsBlocklistKey(a.Key) }, // its refusals and the DNSBL answers: one listing
		LearnLegitimate: MarkIncidentLegitimate,
		Report:          report(),
		Replay: func(cfg *config.Config, log *slog.Logger, emit func(vigie.Finding)) (watch.LogSet, error) {
			return NewEngine(EngineOptions{Config: cfg.Mail, Emit: emit, LogQueue: true,
				Delisting: Delisting(cfg, log), Ours: Ours(cfg, false, log)}), nil
		},
		Grouping: &watch.Grouping{Key: watch.AccountKey, Compromise: true},
	}
}

// Build builds the mail watch (none when mail is off, or auto and there is
// no Postfix log on this machine).
func Build(d watch.Deps) ([]watch.Watch, error) {
	log := d.Logger.With("component", string(Name))
	w, err := New(context.Background(), Options{Config: d.Config.Mail, Store: d.Store, Sink: d.Sink,
		Logger: log, Metrics: d.Metrics, Now: d.Now, Delisting: Delisting(d.Config, log), Ours: Ours(d.Config, true, log)})
	if err != nil {
		return nil, err
	}
	if w == nil {
		why := "mail watch off: no Postfix log on this machine (set mail.log_file or mail.source)"
		if d.Config.Mail.Enabled == config.SwitchOff {
			why = "mail watch off: mail.enabled is off"
		}
		log.Info(why, "log_file", d.Config.Mail.LogFile, "source", d.Config.Mail.Source)
		return nil, nil
	}
	return []watch.Watch{w}, nil
}

// Delisting lets the mail watch name a remote refusal's blocklist as the
// blocklist watch does (one alert for both) and carry its delisting
// steps, from the same zone data (built-in, blocklist.zones_file).
func Delisting(cfg *config.Config, log *slog.Logger) DelistingFunc {
	c, err := blocklist.LoadCatalog(cfg.Blocklist.ZonesFile, cfg.Blocklist.DisableZones)
	if err != nil {
		log.Warn("blocklist data unreadable: remote refusals will not say how to get delisted", "err", err)
		return nil
	}
	return c.DelistingFor
}

// Ours says which addresses are ours for the mail watch's remote
// refusals: the blocklist watch's IP targets (blocklist.ips, or the
// sending addresses discovered from Postfix and the interfaces when
// discover is set, plus blocklist.extra_ips). Nil when none are known:
// then every refusal counts.
func Ours(cfg *config.Config, discover bool, log *slog.Logger) func(netip.Addr) bool {
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
