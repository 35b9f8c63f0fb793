package dnswatch

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/alert"
	"github.com/vigie/vigie/internal/rdap"
	"github.com/vigie/vigie/internal/rdap/rdaptest"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/store/sqlite"
	"github.com/vigie/vigie/internal/vigie"
)

// Registry status and expiry through RDAP, against an RDAP server on
// loopback: twenty locked domains a year from expiry, then one loses its
// locks, one is 20 days from expiry, one 5, one moves to another
// registrar, one is on hold, one is deleted, and the registry's NS of
// one differ from the parent's; thirteen stay as they were and must stay
// quiet. Then everything is put back and every alert resolves.
func TestRDAPStatusAndExpiry(t *testing.T) {
	ctx := context.Background()
	srv := rdaptest.Start(t)
	bs, err := rdap.ParseBootstrap(srv.Bootstrap("test"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "vigie.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now().UTC()
	locks := []string{"client delete prohibited", "client transfer prohibited", "client update prohibited"}
	ns := []string{"NS1.HOSTER.TEST", "NS2.HOSTER.TEST"}
	normal := func() rdaptest.Registration {
		return rdaptest.Registration{Status: locks, Expires: now.Add(300 * 24 * time.Hour), Registrar: "Registrar A SAS", IANAID: "1234", Nameservers: ns}
	}
	var domains []string
	for i := 0; i < 20; i++ {
		d := fmt.Sprintf("d%d.test.", i)
		domains = append(domains, d)
		srv.Set(d, normal())
	}
	parentNS := map[string]string{}
	for _, d := range domains {
		parentNS[d] = "ns1.hoster.test., ns2.hoster.test."
	}
	c := &RDAPChecker{Lookup: &rdap.Client{Bootstrap: bs, Rate: 1000}, State: db, Sink: alert.New(alert.Options{Store: db}),
		Now: time.Now, ParentNS: func(d string) (string, bool) { v, ok := parentNS[d]; return v, ok }}
	pass := func() {
		t.Helper()
		for _, d := range domains {
			if err := c.Check(ctx, d); err != nil {
				t.Fatalf("%s: %v", d, err)
			}
		}
	}
	firing := func() map[string]vigie.Alert {
		as, err := db.ListAlerts(ctx, store.AlertQuery{Watch: WatchName, Limit: 100, States: []vigie.AlertState{vigie.AlertFiring}})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]vigie.Alert{}
		for _, a := range as {
			out[a.Key] = a
		}
		return out
	}
	pass()
	if as := firing(); len(as) != 0 {
		t.Fatalf("alerts on a quiet registry: %v", as)
	}

	r := normal()
	r.Status = []string{"client delete prohibited"} // the transfer and update locks are gone
	srv.Set("d1.test.", r)
	r = normal()
	r.Expires = now.Add(20*24*time.Hour + time.Hour)
	srv.Set("d2.test.", r)
	r = normal()
	r.Expires = now.Add(5*24*time.Hour + time.Hour)
	srv.Set("d3.test.", r)
	r = normal()
	r.Registrar, r.IANAID = "Rogue Registrar Ltd", "9999"
	srv.Set("d4.test.", r)
	parentNS["d5.test."] = "ns1.rogue.test., ns2.rogue.test."
	r = normal()
	r.Status = append([]string{"client hold"}, locks...)
	srv.Set("d6.test.", r)
	srv.Delete("d7.test.")
	pass()
	as := firing()
	want := map[string]vigie.Severity{
		RDAPKey(RuleRDAPLockRemoved, "d1.test."): vigie.SeverityCritical,
		RDAPKey(RuleRDAPExpiry, "d2.test."):      vigie.SeverityWarning,
		RDAPKey(RuleRDAPExpiry, "d3.test."):      vigie.SeverityCritical,
		RDAPKey(RuleRDAPRegistrar, "d4.test."):   vigie.SeverityCritical,
		RDAPKey(RuleRDAPNS, "d5.test."):          vigie.SeverityWarning,
		RDAPKey(RuleRDAPStatus, "d6.test."):      vigie.SeverityCritical,
		RDAPKey(RuleRDAPNotFound, "d7.test."):    vigie.SeverityCritical,
	}
	for k, sev := range want {
		if a, ok := as[k]; !ok || a.Severity != sev {
			t.Errorf("%s: %v, want %s", k, a.Severity, sev)
		}
	}
	if len(as) != len(want) {
		t.Errorf("%d alerts, want %d: %v", len(as), len(want), as)
	}
	lock := as[RDAPKey(RuleRDAPLockRemoved, "d1.test.")]
	if !strings.Contains(lock.Summary, "clientTransferProhibited") || !strings.Contains(lock.Summary, "clientUpdateProhibited") {
		t.Errorf("lock summary: %s", lock.Summary)
	}
	if s := as[RDAPKey(RuleRDAPExpiry, "d3.test.")].Summary; !strings.Contains(s, "in 5 days") {
		t.Errorf("expiry summary: %s", s)
	}
	if ev := as[RDAPKey(RuleRDAPNS, "d5.test.")].Evidence; ev[string(EvidenceRDAPNS)] != "ns1.hoster.test., ns2.hoster.test." ||
		ev[string(EvidenceParentNS)] != "ns1.rogue.test., ns2.rogue.test." {
		t.Errorf("ns evidence: %v", ev)
	}
	// The incident report reads each of them as a note under the
	// registry, from the alert's evidence.
	for key, want := range map[string][]string{
		RDAPKey(RuleRDAPLockRemoved, "d1.test."): {"registry lock removed on d1.test.", "clientTransferProhibited, clientUpdateProhibited"},
		RDAPKey(RuleRDAPExpiry, "d3.test."):      {"d3.test. expires on", "(5 days left)"},
		RDAPKey(RuleRDAPNS, "d5.test."):          {"the registry lists ns1.hoster.test., ns2.hoster.test. for d5.test.", "serves ns1.rogue.test."},
	} {
		a := as[key]
		rd, err := Descriptor().Report.Read(context.Background(), &a, nil)
		if err != nil || len(rd.Notes) != 1 || rd.Notes[0].Topic != NoteTopicRegistry {
			t.Fatalf("%s: reading %+v (%v)", key, rd, err)
		}
		for _, w := range want {
			if !strings.Contains(rd.Notes[0].Text, w) {
				t.Errorf("%s: note %q does not say %q", key, rd.Notes[0].Text, w)
			}
		}
	}

	// Put back: locks, renewals, the registrar, the delegation, the hold,
	// the registration.
	for _, d := range domains {
		srv.Set(d, normal())
		parentNS[d] = "ns1.hoster.test., ns2.hoster.test."
	}
	pass()
	if as := firing(); len(as) != 0 {
		t.Errorf("still firing after the repair: %v", as)
	}
}
