package incident

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/vigie"
)

// A hijack that moves the NS of most domains and rewrites the A and MX of
// some (as the rogue servers in the registrar's seed did): counted by TLD
// and by new value, first and last change from the sweeps, TTLs.
func TestDNSStoryCountsByTLDAndNewValue(t *testing.T) {
	t0 := time.Date(2017, 7, 7, 10, 4, 0, 0, time.UTC)
	r := &Report{Incident: vigie.Incident{ID: 1, Title: "ns of a0.fr changed"}}
	tlds := []string{"fr.", "com.", "eu.", "fr."}
	for i := range 40 {
		d := fmt.Sprintf("a%d.%s", i, tlds[i%4])
		sweep := t0.Add(time.Duration(i/10) * 15 * time.Minute)
		r.Impact.Changes = append(r.Impact.Changes, Change{Domain: d, TLD: tlds[i%4], Kind: "ns", Observed: "ns1.rogue.example., ns2.rogue.example.",
			TTL: 86400 * time.Second, FirstSeen: sweep, State: vigie.AlertFiring})
		if i%5 == 0 {
			r.Impact.Changes = append(r.Impact.Changes, Change{Domain: d, TLD: tlds[i%4], Kind: "a", Observed: "203.0.113.66",
				TTL: 300 * time.Second, FirstSeen: sweep.Add(time.Minute), State: vigie.AlertResolved})
		}
		if i%10 == 0 {
			r.Impact.Changes = append(r.Impact.Changes, Change{Domain: d, TLD: tlds[i%4], Kind: "mx", Observed: "10 mx.rogue.example.",
				TTL: 3600 * time.Second, FirstSeen: sweep.Add(time.Minute), State: vigie.AlertFiring})
		}
	}
	st := r.story()
	d := st.DNS
	if d == nil || d.Domains != 40 || d.Records != 52 || len(d.TLDs) != 3 || d.TLDs[0] != (Count{"fr.", 20}) {
		t.Fatalf("dns story: %+v", d)
	}
	want := []ValueCount{{"ns", "ns1.rogue.example., ns2.rogue.example.", 40}, {"a", "203.0.113.66", 8}, {"mx", "10 mx.rogue.example.", 4}}
	if fmt.Sprint(d.Values) != fmt.Sprint(want) {
		t.Errorf("values %v, want %v", d.Values, want)
	}
	if !d.FirstChange.Equal(t0) || !d.LastChange.Equal(t0.Add(45*time.Minute)) || len(d.Sweeps) != 4 || d.Sweeps[0].N != 10 {
		t.Errorf("first %s, last %s, sweeps %v", d.FirstChange, d.LastChange, d.Sweeps)
	}
	if d.MinTTL != 300*time.Second || d.MaxTTL != 86400*time.Second || d.Reverted != 8 || !d.ExposureEnd.IsZero() {
		t.Errorf("ttl %s-%s, reverted %d, end %s", d.MinTTL, d.MaxTTL, d.Reverted, d.ExposureEnd)
	}
	if st.Headline != "40 domains in 3 TLDs moved to ns1.rogue.example" {
		t.Errorf("headline %q", st.Headline)
	}
	// Only the A records changed: the headline says so.
	r.Impact.Changes = r.Impact.Changes[:1]
	r.Impact.Changes[0].Kind, r.Impact.Changes[0].Observed = "a", "203.0.113.66"
	if h := r.story().Headline; h != "a0.fr. now serve A 203.0.113.66" {
		t.Errorf("headline %q", h)
	}
}

// A step is ticked only by a successful audited action on its target,
// after the incident began: a failed hold, a hold of another account or
// one from last month tick nothing.
func TestChecklistTicksOnlyWhatWasDone(t *testing.T) {
	t0 := time.Date(2024, 9, 29, 13, 0, 0, 0, time.UTC)
	r := &Report{Incident: vigie.Incident{ID: 4, OpenedAt: t0}, FirstSeen: t0,
		Story: Story{Mail: []MailStory{{Account: "alice@club1.fr", Detected: t0}}}}
	audit := []vigie.AuditEntry{
		{Time: t0.Add(time.Minute), Actor: "root", Action: vigie.ActionMailHold, Target: "alice@club1.fr", Result: "postsuper: permission denied"},
		{Time: t0.Add(2 * time.Minute), Actor: "root", Action: vigie.ActionMailHold, Target: "bob@club1.fr", Result: "ok"},
		{Time: t0.Add(-30 * 24 * time.Hour), Actor: "root", Action: vigie.ActionMailPurge, Target: "alice@club1.fr", Result: "ok"},
		{Time: t0.Add(3 * time.Minute), Actor: "vigie", Action: vigie.ActionMailSuspend, Target: "alice@club1.fr", Result: "ok"},
	}
	steps := map[string]Step{}
	for _, s := range r.checklist(audit) {
		steps[s.Text] = s
	}
	suspend := steps["Suspend alice@club1.fr (its new mail is held)"]
	password := steps["Change the password of alice@club1.fr, then let it send again"]
	if password.Text == "" || password.Done {
		t.Errorf("a suspension ticked the password change, or the step is missing: %+v", password)
	}
	hold := steps["Hold the mail alice@club1.fr queued"]
	purge := steps["Purge the held spam of alice@club1.fr once checked"]
	if !suspend.Done || suspend.By != "vigie" || !suspend.At.Equal(t0.Add(3*time.Minute)) {
		t.Errorf("suspend: %+v", suspend)
	}
	// Suspending holds the account's new mail: the hold step is done by it.
	if !hold.Done || hold.How != vigie.ActionMailSuspend || hold.Command != "vigie mail hold --sasl-user alice@club1.fr" {
		t.Errorf("hold: %+v", hold)
	}
	if purge.Done {
		t.Errorf("a purge from last month ticked this incident's: %+v", purge)
	}
	for _, s := range steps {
		if s.Done && s.By == "root" {
			t.Errorf("a failed or unrelated action ticked %+v", s)
		}
	}
}

// Alerts a watch tells in a sentence (a broken DNSSEC chain, a registry
// lock removed) are the story's notes: by topic, critical first, in the
// Markdown report and its JSON.
func TestStoryNotesByTopic(t *testing.T) {
	r := &Report{Incident: vigie.Incident{ID: 2, Title: "DNSSEC chain of shop.fr. is broken"}}
	r.Impact.Notes = []Note{
		{AlertID: 7, Topic: "DNSSEC", Subject: "blog.fr.", Text: "DNSSEC signatures of blog.fr. expire on 2026-12-06", Severity: vigie.SeverityWarning, State: vigie.AlertFiring},
		{AlertID: 8, Topic: "Registry (RDAP)", Subject: "shop.fr.", Text: "registry lock removed on shop.fr.: clientTransferProhibited no longer set", Severity: vigie.SeverityCritical, State: vigie.AlertFiring},
		{AlertID: 9, Topic: "DNSSEC", Subject: "shop.fr.", Text: "DNSSEC chain of shop.fr. is broken: no DNSKEY matches a DS", Severity: vigie.SeverityCritical, State: vigie.AlertResolved},
	}
	r.Story = r.story()
	g := r.Story.Notes
	if len(g) != 2 || g[0].Topic != "DNSSEC" || len(g[0].Notes) != 2 || g[0].Notes[0].AlertID != 9 || g[1].Notes[0].AlertID != 8 {
		t.Fatalf("notes %+v", g)
	}
	if r.Story.Headline != r.Incident.Title {
		t.Errorf("headline %q", r.Story.Headline)
	}
	var md strings.Builder
	if err := r.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## DNSSEC\n", "- DNSSEC chain of shop.fr. is broken: no DNSKEY matches a DS (critical, resolved)", "## Registry (RDAP)\n"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("the report does not say %q:\n%s", want, md.String())
		}
	}
	var js strings.Builder
	if err := r.JSON(&js); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(js.String(), `"topic": "Registry (RDAP)"`) || !strings.Contains(js.String(), `"alert_id": 8`) {
		t.Errorf("JSON without the notes: %s", js.String())
	}
}
