package app

import (
	"context"

	"github.com/vigie/vigie/internal/mail"
)

// buildMail builds the mail watch (none when mail is off, or auto and
// there is no Postfix log on this machine).
func buildMail(d Deps) ([]Watch, error) {
	w, err := mail.New(context.Background(), mail.Options{Config: d.Config.Mail, Store: d.Store, Sink: d.Sink,
		Logger: d.Logger.With("component", "mail"), Metrics: d.Metrics, Now: d.Now})
	if w == nil || err != nil {
		return nil, err
	}
	return []Watch{w}, nil
}
