package ui

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vigie/vigie/internal/dnswatch"
	"github.com/vigie/vigie/internal/vigie"
	"github.com/vigie/vigie/internal/watch"
	"github.com/vigie/vigie/internal/watches"
)

// An incident's downloads come from the watches' descriptors: the DNS
// watch's revert plan is served in its formats, refuses others, and is
// not served at all by a vigie without the DNS watch.
func TestIncidentDownloadsFromDescriptors(t *testing.T) {
	drift := vigie.Finding{Watch: string(dnswatch.Name), Rule: string(dnswatch.RuleDrift), Subject: "asso-exemple.fr",
		Key: dnswatch.DriftKey("asso-exemple.fr", "ns"), Severity: vigie.SeverityCritical, Summary: "ns of asso-exemple.fr changed", ResolveAfter: -1,
		Evidence: map[string]string{string(dnswatch.EvidenceKind): "ns", string(dnswatch.EvidenceExpected): "a.dns.gandi.net b.dns.gandi.net",
			string(dnswatch.EvidenceObserved): "=ns1.rogue.example", string(dnswatch.EvidenceTLD): "fr.", string(dnswatch.EvidenceTTL): "86400"}}

	f := newFixture(t, false)
	srv := httptest.NewServer(f.srv.Handler())
	defer srv.Close()
	f.emit(t, drift)
	c := newClient(t)

	csv := do(t, c, "GET", srv.URL+"/incidents/1/"+dnswatch.DownloadRevertPlan, "", nil)
	if csv.code != 200 || !strings.HasPrefix(csv.hdr.Get("Content-Type"), "text/csv") ||
		!strings.Contains(csv.hdr.Get("Content-Disposition"), "vigie-incident-1-revert-plan.csv") ||
		!strings.HasPrefix(csv.body, "domain,tld,expected_ns,observed_ns") || !strings.Contains(csv.body, "asso-exemple.fr,fr.,a.dns.gandi.net b.dns.gandi.net,'=ns1.rogue.example") {
		t.Errorf("revert plan CSV: %d %v\n%s", csv.code, csv.hdr, csv.body)
	}
	js := do(t, c, "GET", srv.URL+"/api/v1/incidents/1/"+dnswatch.DownloadRevertPlan+"?format=json", "", nil)
	var row dnswatch.RevertRow
	if js.code != 200 || js.hdr.Get("Content-Type") != "application/x-ndjson" || json.Unmarshal([]byte(js.body), &row) != nil ||
		row.Domain != "asso-exemple.fr" || row.ObservedNS != "=ns1.rogue.example" {
		t.Errorf("revert plan JSON: %d %v\n%s", js.code, js.hdr, js.body)
	}
	if r := do(t, c, "GET", srv.URL+"/incidents/1/"+dnswatch.DownloadRevertPlan+"?format=xml", "", nil); r.code != 400 || !strings.Contains(r.body, "csv or json") {
		t.Errorf("format xml: %d %s", r.code, r.body)
	}
	if r := do(t, c, "GET", srv.URL+"/incidents/99/"+dnswatch.DownloadRevertPlan, "", nil); r.code != 404 {
		t.Errorf("no such incident: %d %s", r.code, r.body)
	}

	// Without the DNS watch, no revert plan.
	var noDNS watch.List
	for _, d := range watches.All() {
		if d.Name != dnswatch.Name {
			noDNS = append(noDNS, d)
		}
	}
	g := newFixtureWith(t, func(o *Options) { o.Watches = noDNS })
	srv2 := httptest.NewServer(g.srv.Handler())
	defer srv2.Close()
	g.emit(t, drift)
	if r := do(t, newClient(t), "GET", srv2.URL+"/incidents/1/"+dnswatch.DownloadRevertPlan, "", nil); r.code != 404 {
		t.Errorf("a vigie without the DNS watch served a revert plan: %d %s", r.code, r.body)
	}
}
