package incident

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
)

// The response checklist follows what the admins of the three seed
// incidents did, by kind: for a stolen password (club1) suspend the
// account, hold then purge its queue, get the server off the lists that
// refused it; for a web site relaying spam (another-home-page) stop the
// site, hold its uid's mail, update it; for a delegation hijack (the
// registrar) revert the delegations at the registries, then check the
// certificates issued in the window. A step is ticked only by what was
// done: an audited action of vigie or an admin, or what the watches see
// (a listing gone, a site updated, a delegation back), never by hand.

// Step is one thing to do, with how to do it.
type Step struct {
	Text    string
	Details []string // delisting steps, certificates to check...
	URL     string   // where to do it (a delisting form)
	Command string   // the vigie command that does it
	Button  string   // the dashboard button that does it, on the incident page
	Done    bool
	By      string    // who did it (an audit actor, or "vigie" for what a watch saw)
	At      time.Time // when
	How     string    // the audit action or the observation that ticked it
}

// auditActions are the actions the checklist reads.
var auditActions = []string{vigie.ActionIncidentAcknowledge, vigie.ActionIncidentResolve, vigie.ActionIncidentNote,
	vigie.ActionMailHold, vigie.ActionMailPurge, vigie.ActionMailSuspend, vigie.ActionDNSApprove, vigie.ActionCTKnownGood}

// auditLimit bounds each read of the audit log: the newest entries of
// each action are the ones that can tick a step of an open incident.
const auditLimit = 5000

func auditFor(ctx context.Context, s store.Store) ([]vigie.AuditEntry, error) {
	var out []vigie.AuditEntry
	for _, a := range auditActions {
		es, err := s.ListAudit(ctx, store.AuditQuery{Action: a, Limit: auditLimit})
		if err != nil {
			return nil, err
		}
		out = append(out, es...)
	}
	return out, nil
}

// done finds the earliest successful audit entry of one of actions on
// target at or after since.
func done(audit []vigie.AuditEntry, since time.Time, target string, actions ...string) (vigie.AuditEntry, bool) {
	var best vigie.AuditEntry
	found := false
	for _, e := range audit {
		if e.Target != target || e.Result != "ok" || e.Time.Before(since) {
			continue
		}
		for _, a := range actions {
			if e.Action == a && (!found || e.Time.Before(best.Time)) {
				best, found = e, true
			}
		}
	}
	return best, found
}

func (r *Report) checklist(audit []vigie.AuditEntry) []Step {
	var out []Step
	in := r.Incident
	id := strconv.FormatInt(in.ID, 10)
	since := in.OpenedAt.Add(-time.Hour) // an admin may act on an alert before its incident opens
	if !r.FirstSeen.IsZero() && r.FirstSeen.Before(since) {
		since = r.FirstSeen
	}
	tick := func(st Step, e vigie.AuditEntry, ok bool) Step {
		if ok {
			st.Done, st.By, st.At, st.How = true, e.Actor, e.Time, e.Action
		}
		return st
	}
	observed := func(st Step, ok bool, at time.Time, what string) Step {
		if ok {
			st.Done, st.By, st.At, st.How = true, "vigie", at, what
		}
		return st
	}
	e, ok := done(audit, since, id, vigie.ActionIncidentAcknowledge)
	out = append(out, tick(Step{Text: "Acknowledge the incident: someone is on it", Command: "vigie incident ack " + id, Button: "Acknowledge"}, e, ok))

	for _, w := range r.Story.Web {
		site := w.Site
		ok, at := r.alertsResolved(func(rd *watch.Reading) bool { return slices.Contains(rd.Sites, site.Path) })
		text := fmt.Sprintf("Update %s at %s (now %s", site.App, site.Path, site.Version)
		if site.Latest != "" {
			text += ", latest " + site.Latest
		}
		text += ") or take it offline; remove what the attackers dropped in it"
		st := Step{Text: text, Command: "vigie web scan " + site.Path}
		if site.Advisories != "" {
			st.Details = append(st.Details, "Advisories: "+site.Advisories)
		}
		for _, at := range w.Attacks {
			st.Details = append(st.Details, fmt.Sprintf("%s from %s (%d requests, %s to %s)", at.Rule, at.IP, at.Requests, stamp(at.First), stamp(at.Last)))
			if len(st.Details) >= 10 {
				break
			}
		}
		out = append(out, observed(st, ok, at, "the web watch sees no vulnerable install there"))
	}
	for _, m := range r.Story.Mail {
		acc := m.Account
		flag, value := "--sasl-user", acc
		if uid, isUID := strings.CutPrefix(acc, "uid:"); isUID {
			flag, value = "--uid", uid
		} else {
			e, ok := done(audit, since, acc, vigie.ActionMailSuspend)
			out = append(out, tick(Step{Text: fmt.Sprintf("Suspend %s (its new mail is held)", acc),
				Command: "vigie mail suspend " + acc}, e, ok))
			// vigie cannot see a password change, and a suspension is not
			// one: the step is ticked by the resume that follows the change
			// (the club1 admins changed the password before letting the
			// member send again).
			e, ok = done(audit, since, acc, vigie.ActionMailResume)
			out = append(out, tick(Step{Text: fmt.Sprintf("Change the password of %s, then let it send again", acc),
				Command: "vigie mail resume " + acc,
				Details: []string{"vigie cannot see a password change: this step is ticked when the account is resumed, after the change."}}, e, ok))
		}
		e, ok := done(audit, since, acc, vigie.ActionMailHold, vigie.ActionMailSuspend)
		out = append(out, tick(Step{Text: fmt.Sprintf("Hold the mail %s queued", acc),
			Command: fmt.Sprintf("vigie mail hold %s %s", flag, value), Button: "hold mail"}, e, ok))
		e, ok = done(audit, since, acc, vigie.ActionMailPurge)
		out = append(out, tick(Step{Text: fmt.Sprintf("Purge the held spam of %s once checked", acc),
			Command: fmt.Sprintf("vigie mail purge %s %s --dry-run, then --yes", flag, value)}, e, ok))
	}
	for _, l := range r.Story.Listings {
		name := l.List
		if l.Name != "" {
			name = l.Name
		}
		st := Step{Text: fmt.Sprintf("Get %s off %s", l.Target, name), Details: l.DelistSteps, URL: l.DelistURL}
		if len(st.Details) == 0 && st.URL == "" {
			st.Details = []string{"This list's delisting steps are not in vigie's zone data: see the list's web site (vigie blocklist zones)."}
		}
		ok := l.State == vigie.AlertResolved
		out = append(out, observed(st, ok, r.resolvedAt(l.AlertID), "the listing is gone"))
	}
	if d := r.Story.DNS; d != nil {
		ok, at := r.alertsResolved(namesDomains)
		st := Step{Text: fmt.Sprintf("Revert the %s at the registries (%d of %d records back)", plural(d.Records, "changed record"), d.Reverted, d.Records),
			Command: "vigie dns revert-plan --incident " + id + " --format csv", Button: "revert plan (CSV)"}
		st.Details = append(st.Details, "Then close the way in: the credentials or the portal that made the changes.")
		out = append(out, observed(st, ok, at, "every changed record is back or approved"))
		certs := r.CertificatesInWindow
		cok := true
		var cat time.Time
		for _, c := range certs {
			if c.State != vigie.AlertResolved {
				cok = false
			}
		}
		st = Step{Text: fmt.Sprintf("Check the %s issued in the exposure window; revoke the rogue ones", plural(len(certs), "certificate")),
			Command: "vigie ct known-good FINGERPRINT"}
		for _, c := range certs {
			st.Details = append(st.Details, fmt.Sprintf("%s (%s), issued %s by %s", c.Names, c.Subject, stamp(c.Seen), c.Issuer))
		}
		if e, ok := latest(audit, since, vigie.ActionCTKnownGood); ok && cok && len(certs) > 0 {
			out = append(out, tick(st, e, true))
		} else {
			out = append(out, observed(st, cok, cat, "no certificate in the window is left to check"))
		}
	}
	e, ok = done(audit, since, id, vigie.ActionIncidentNote)
	out = append(out, tick(Step{Text: "Write down how they got in and the lessons", Command: "vigie incident note " + id + " TEXT", Button: "Add note"}, e, ok))
	e, ok = done(audit, since, id, vigie.ActionIncidentResolve)
	out = append(out, tick(Step{Text: "Resolve the incident", Command: "vigie incident resolve " + id, Button: "Resolve"}, e, ok))
	return out
}

func latest(audit []vigie.AuditEntry, since time.Time, action string) (vigie.AuditEntry, bool) {
	var best vigie.AuditEntry
	found := false
	for _, e := range audit {
		if e.Action == action && e.Result == "ok" && !e.Time.Before(since) && (!found || e.Time.After(best.Time)) {
			best, found = e, true
		}
	}
	return best, found
}

// namesDomains selects the alerts about domains (the DNS watch's): what
// the revert step and the DNS exposure wait for.
func namesDomains(rd *watch.Reading) bool { return len(rd.Domains) > 0 }

// alertsResolved says whether every alert whose reading match selects
// (at least one) is resolved, and when the last one was.
func (r *Report) alertsResolved(match func(*watch.Reading) bool) (bool, time.Time) {
	var at time.Time
	n := 0
	for i := range r.Alerts {
		a := &r.Alerts[i]
		if i >= len(r.readings) || !match(&r.readings[i]) {
			continue
		}
		n++
		if a.State != vigie.AlertResolved {
			return false, time.Time{}
		}
		if a.ResolvedAt.After(at) {
			at = a.ResolvedAt
		}
	}
	return n > 0, at
}

func (r *Report) resolvedAt(alertID int64) time.Time {
	for _, a := range r.Alerts {
		if a.ID == alertID {
			return a.ResolvedAt
		}
	}
	return time.Time{}
}
