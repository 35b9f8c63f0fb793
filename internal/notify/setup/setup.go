// Package setup builds the notifiers, routes and delivery settings of the
// alert pipeline from the configuration's notify and alerts sections.
package setup

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/vigie/vigie/internal/alert"
	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/notify"
	"github.com/vigie/vigie/internal/notify/alertmanager"
	"github.com/vigie/vigie/internal/notify/email"
	"github.com/vigie/vigie/internal/notify/lognotify"
	"github.com/vigie/vigie/internal/notify/matrix"
	"github.com/vigie/vigie/internal/notify/ntfy"
	"github.com/vigie/vigie/internal/notify/slack"
	"github.com/vigie/vigie/internal/notify/webhook"
	"github.com/vigie/vigie/internal/vigie"
)

// Built is what the pipeline needs from the configuration.
type Built struct {
	Notifiers []notify.Notifier
	Routes    []alert.Route
	Dispatch  notify.DispatchOptions
	Grouping  alert.Grouping
}

// Options apply them to alert options.
func (b Built) Options(o alert.Options) alert.Options {
	o.Notifiers, o.Routes, o.Dispatch, o.Grouping = b.Notifiers, b.Routes, b.Dispatch, b.Grouping
	return o
}

// Build makes every configured notifier. The config is already validated;
// what only shows when building (an unreadable ca_file) is an error naming
// the notifier.
func Build(cfg *config.Config, log *slog.Logger) (Built, error) {
	n := cfg.Notify
	b := Built{
		Dispatch: notify.DispatchOptions{GroupWait: n.Delivery.GroupWait, MinInterval: n.Delivery.MinInterval, Backoff: n.Delivery.Backoff,
			MaxBackoff: n.Delivery.MaxBackoff, MaxAttempts: n.Delivery.MaxAttempts, QueueSize: n.Delivery.QueueSize},
		Grouping: alert.Grouping{BlocklistWindow: cfg.Alerts.Grouping.BlocklistWindow, CTWindow: cfg.Alerts.Grouping.CTWindow},
	}
	if n.Log.Enabled {
		min, _ := vigie.ParseSeverity(n.Log.MinSeverity)
		b.Notifiers = append(b.Notifiers, lognotify.New(log, min))
	}
	add := func(kind, name string, mk func(name string) (notify.Notifier, error)) error {
		name = config.NotifierName(name, kind)
		nt, err := mk(name)
		if err != nil {
			return fmt.Errorf("notify.%s %q: %w", kind, name, err)
		}
		b.Notifiers = append(b.Notifiers, nt)
		return nil
	}
	client := func(caFile string) (*http.Client, error) { return notify.NewHTTPClient(caFile) }
	for _, c := range n.Webhook {
		if err := add("webhook", c.Name, func(name string) (notify.Notifier, error) {
			hc, err := client(c.CAFile)
			if err != nil {
				return nil, err
			}
			return webhook.New(webhook.Options{Name: name, URL: c.URL, HMACKey: c.HMACKey.Value(), Client: hc})
		}); err != nil {
			return b, err
		}
	}
	for _, c := range n.Email {
		if err := add("email", c.Name, func(name string) (notify.Notifier, error) {
			o := email.Options{Name: name, From: c.From, To: c.To, Helo: c.Helo, Server: smtpServer(c.Server)}
			if c.Relay.Address != "" {
				r := smtpServer(c.Relay)
				o.Relay = &r
			}
			return email.New(o)
		}); err != nil {
			return b, err
		}
	}
	for _, c := range n.Matrix {
		if err := add("matrix", c.Name, func(name string) (notify.Notifier, error) {
			hc, err := client(c.CAFile)
			if err != nil {
				return nil, err
			}
			return matrix.New(matrix.Options{Name: name, Homeserver: c.Homeserver, RoomID: c.RoomID, AccessToken: c.AccessToken.Value(), Client: hc})
		}); err != nil {
			return b, err
		}
	}
	for _, c := range n.Ntfy {
		if err := add("ntfy", c.Name, func(name string) (notify.Notifier, error) {
			hc, err := client(c.CAFile)
			if err != nil {
				return nil, err
			}
			return ntfy.New(ntfy.Options{Name: name, Server: c.Server, Topic: c.Topic, Token: c.Token.Value(), Username: c.Username,
				Password: c.Password.Value(), Client: hc})
		}); err != nil {
			return b, err
		}
	}
	for _, c := range n.Slack {
		if err := add("slack", c.Name, func(name string) (notify.Notifier, error) {
			return slack.New(slack.Options{Name: name, URL: c.URL.Value()})
		}); err != nil {
			return b, err
		}
	}
	for _, c := range n.Alertmanager {
		if err := add("alertmanager", c.Name, func(name string) (notify.Notifier, error) {
			hc, err := client(c.CAFile)
			if err != nil {
				return nil, err
			}
			return alertmanager.New(alertmanager.Options{Name: name, URL: c.URL, Username: c.Username, Password: c.Password.Value(),
				Token: c.Token.Value(), Client: hc, ResendInterval: cfg.Alerts.CheckInterval})
		}); err != nil {
			return b, err
		}
	}
	for _, r := range n.Routes {
		rt := alert.Route{Watches: r.Watches, Notifiers: r.Notifiers}
		if r.MinSeverity != "" {
			rt.MinSeverity, _ = vigie.ParseSeverity(r.MinSeverity)
		}
		b.Routes = append(b.Routes, rt)
	}
	return b, nil
}

func smtpServer(s config.SMTPServer) email.Server {
	return email.Server{Address: s.Address, TLS: s.TLS, Username: s.Username, Password: s.Password.Value(), CAFile: s.CAFile}
}
