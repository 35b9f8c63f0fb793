package mail

import (
	"context"
	"strings"

	"github.com/vigie/vigie/internal/watch"
)

// EvidenceAccount is the account a mail finding is about when its subject
// is not one (a queue, an address of the sender's server).
const EvidenceAccount watch.EvidenceKey = "account"

// HoldAccount is the account a mail alert is about, for the dashboard's
// hold and release buttons: the evidence's "account", else the subject
// when it is an address or a login (not a queue name or an IP address).
// Empty: none.
func HoldAccount(subject string, evidence map[string]string) string {
	if acc := EvidenceAccount.Of(evidence); acc != "" {
		return acc
	}
	if strings.Contains(subject, "@") {
		return subject
	}
	return ""
}

// holdPanel is the mail page's own part: hold and release.
type holdPanel struct {
	Available bool     `json:"actions_available"`
	Held      []string `json:"held_accounts"`
	HeldError string   `json:"held_error,omitempty"`
	// Accounts are the subjects of the active mail alerts, to act on.
	Accounts []string `json:"alert_accounts"`
}

func holdsPanel() watch.Panel {
	return watch.Panel{
		Key: "mail",
		Data: func(ctx context.Context, in watch.PanelInput) (any, error) {
			p := &holdPanel{Available: in.Held != nil, Held: []string{}, Accounts: []string{}}
			seen := map[string]bool{}
			for _, a := range in.Alerts {
				if acc := HoldAccount(a.Subject, a.Evidence); acc != "" && !seen[acc] && len(p.Accounts) < 20 {
					seen[acc] = true
					p.Accounts = append(p.Accounts, acc)
				}
			}
			if in.Held != nil {
				held, err := in.Held(ctx)
				if err != nil {
					p.HeldError = err.Error()
				}
				p.Held = append(p.Held, held...)
			}
			return p, nil
		},
		Template: `{{with .Data}}
	<section class="panel" id="mail-actions">
	<h2>Hold and release</h2>
	{{if .Available}}
	<form method="post" action="/mail/hold" class="inline">
	<input type="hidden" name="csrf" value="{{$.CSRF}}">
	<label for="hold-account">Account</label>
	<input id="hold-account" name="account" required maxlength="320" autocomplete="off">
	<button type="submit" id="hold-submit">hold mail</button>
	</form>
	<h3>Held or suspended accounts</h3>
	{{if .HeldError}}<p class="error">{{.HeldError}}</p>{{end}}
	<ul class="holds">{{range .Held}}<li><span class="subject">{{.}}</span> {{template "holdform" (holdArgs "release" . $.CSRF 0 $.Path)}}</li>{{else}}<li class="empty">None.</li>{{end}}</ul>
	<h3>Accounts in active alerts</h3>
	<ul class="holds">{{range .Accounts}}<li><span class="subject">{{.}}</span> {{template "holdform" (holdArgs "hold" . $.CSRF 0 $.Path)}}</li>{{else}}<li class="empty">None.</li>{{end}}</ul>
	{{else}}<p class="empty">Hold and release need the mail or policy watch; none runs.</p>{{end}}
	</section>
	{{end}}`,
	}
}
