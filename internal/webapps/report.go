package webapps

import (
	"context"
	"strconv"

	"github.com/vigie/vigie/internal/mail/subject"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
)

// Evidence keys the incident's web story reads: an install's
// (InstallFindings) and an exploitation request's (the access-log rules).
const (
	EvidencePath       watch.EvidenceKey = "path"
	EvidenceApp        watch.EvidenceKey = "app"
	EvidenceVersion    watch.EvidenceKey = "version"
	EvidenceStatus     watch.EvidenceKey = "status"
	EvidenceLatest     watch.EvidenceKey = "latest"
	EvidenceAdvisories watch.EvidenceKey = "advisories"
	EvidenceIP         watch.EvidenceKey = "ip"
	EvidenceTarget     watch.EvidenceKey = "target"
	EvidenceInstall    watch.EvidenceKey = "install"
	EvidenceInstallVer watch.EvidenceKey = "install_version"
)

// report reads a web alert as the install it is about (with the uid it
// runs as: an account of the incident, what else runs as it), or as the
// attack requests of one IP against an install.
func report() *watch.Report {
	return &watch.Report{
		Evidence: []watch.EvidenceKey{EvidenceUID, EvidencePath, EvidenceApp, EvidenceVersion, EvidenceStatus, EvidenceLatest, EvidenceAdvisories,
			EvidenceIP, EvidenceTarget, EvidenceInstall, EvidenceInstallVer},
		Read: func(_ context.Context, a *vigie.Alert, _ func(context.Context) ([]vigie.Finding, error)) (watch.Reading, error) {
			var r watch.Reading
			ev := a.Evidence
			account := ""
			if n, err := strconv.Atoi(EvidenceUID.Of(ev)); err == nil && n >= 0 {
				// the mail watch's subject of that uid: its mail joins the incident
				account = subject.UID(n).String()
				r.Accounts = []watch.Account{{Name: account}}
			}
			switch {
			case EvidencePath.Of(ev) != "" && EvidenceApp.Of(ev) != "":
				r.Sites = []string{EvidencePath.Of(ev)}
				r.Installs = []watch.Site{{Path: EvidencePath.Of(ev), App: EvidenceApp.Of(ev), Version: EvidenceVersion.Of(ev),
					Status: EvidenceStatus.Of(ev), Latest: EvidenceLatest.Of(ev), Advisories: EvidenceAdvisories.Of(ev),
					UID: EvidenceUID.Of(ev), Account: account, Rules: []string{a.Rule}, State: a.State}}
			case EvidenceIP.Of(ev) != "":
				r.Attacks = []watch.Attack{{AlertID: a.ID, IP: EvidenceIP.Of(ev), Rule: a.Rule, Target: EvidenceTarget.Of(ev),
					Install: EvidenceInstall.Of(ev), Version: EvidenceInstallVer.Of(ev), Requests: a.Count, First: a.FirstSeen, Last: a.LastSeen}}
			default:
				r.Sites = []string{a.Subject}
			}
			return r, nil
		},
	}
}
