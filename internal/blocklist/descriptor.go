package blocklist

import (
	"context"
	"time"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/mailqueue"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
)

// Name is the blocklist watch's name.
const Name watch.Name = "blocklist"

// Descriptor is the blocklist watch as the rest of vigie knows it.
func Descriptor() *watch.Descriptor {
	return &watch.Descriptor{Name: Name, Title: "Blocklists", Build: Build, Doctor: Doctor,
		Panels: []watch.Panel{matrix()},
		Report: report(),
		// the mail watch's refusals naming a list are listings too
		AlsoShows: func(a *vigie.Alert) bool { return vigie.IsBlocklistKey(a.Key) },
		Grouping:  &watch.Grouping{FollowsCompromise: true},
	}
}

// Build returns the blocklist watch. Under auto it runs when
// there is something to check: a public sending address on this machine or
// a configured target.
func Build(d watch.Deps) ([]watch.Watch, error) {
	c := d.Config.Blocklist
	if c.Enabled == config.SwitchOff {
		return nil, nil
	}
	log := d.Logger.With("component", string(Name))
	c.PostfixConfigDir = mailqueue.ConfigDirectory(context.Background(), d.Config.Postfix.ConfigDir, "")
	w, targets, err := FromConfig(c, Options{
		Sink: d.Sink, Store: d.Store, Logger: log, Metrics: d.Metrics, Now: d.Now,
	}, log)
	if err != nil {
		return nil, err
	}
	if c.Enabled == config.SwitchAuto {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		ts, _, err := targets.Resolve(ctx)
		if err != nil || len(ts) == 0 {
			log.Info("blocklist watch off: no public sending address found and no target configured (set blocklist.ips or blocklist.domains)", "err", err)
			return nil, nil
		}
	}
	return []watch.Watch{w}, nil
}
