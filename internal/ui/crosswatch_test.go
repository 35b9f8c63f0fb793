package ui

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vigie/vigie/internal/blocklist"
	"github.com/vigie/vigie/internal/mail"
	"github.com/vigie/vigie/internal/vigie"
)

// A listing is one thing wherever it shows: raised by the mail watch (a
// Microsoft refusal) or by the blocklist watch (a DNSBL answer), the
// blocklist page, the mail page and the incident show the same alerts.
func TestListingsAgreeAcrossPages(t *testing.T) {
	f := newFixture(t, false)
	srv := httptest.NewServer(f.srv.Handler())
	defer srv.Close()
	const ip = "198.51.100.7"
	f.emit(t,
		vigie.Finding{Watch: mail.WatchName, Rule: string(mail.RuleAccountVolume), Subject: "manon@club.example", Group: "account:manon@club.example",
			Severity: vigie.SeverityCritical, Summary: "manon sent 600 messages", Evidence: map[string]string{mail.EvidenceMessages: "600"}},
		vigie.Finding{Watch: mail.WatchName, Rule: string(mail.RuleRemoteBlocklist), Subject: ip, Key: vigie.BlocklistKey(ip, "microsoft"),
			Severity: vigie.SeverityCritical, Summary: "outlook.com refuses our mail (S3150)",
			Evidence: map[string]string{string(blocklist.EvidenceDelistURL): "https://olcsupport.office.com/", string(blocklist.EvidenceDelistSteps): "1. Stop the spam\n2. Fill in the form"}},
		vigie.Finding{Watch: "blocklist", Rule: "listed", Subject: ip, Key: vigie.BlocklistKey(ip, "zen.spamhaus.org"),
			Severity: vigie.SeverityCritical, Summary: ip + " is listed by zen.spamhaus.org", Evidence: map[string]string{"zone": "zen.spamhaus.org"}},
	)
	c := newClient(t)
	keys := func(path string) map[string]bool {
		r := do(t, c, "GET", srv.URL+path, "", nil)
		var v struct {
			Alerts []apiAlert `json:"active_alerts"`
		}
		if err := json.Unmarshal([]byte(r.body), &v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out := map[string]bool{}
		for _, a := range v.Alerts {
			if vigie.IsBlocklistKey(a.Key) {
				out[a.Key] = true
			}
		}
		return out
	}
	want := map[string]bool{vigie.BlocklistKey(ip, "microsoft"): true, vigie.BlocklistKey(ip, "zen.spamhaus.org"): true}
	for _, page := range []string{"/api/v1/watches/blocklist", "/api/v1/watches/mail"} {
		if got := keys(page); len(got) != len(want) || !got[vigie.BlocklistKey(ip, "microsoft")] || !got[vigie.BlocklistKey(ip, "zen.spamhaus.org")] {
			t.Errorf("%s shows the listings %v, want %v", page, got, want)
		}
	}
	html := do(t, c, "GET", srv.URL+"/watches/blocklist", "", nil).body
	if strings.Contains(html, "Listed nowhere") || !strings.Contains(html, "microsoft") {
		t.Errorf("the blocklist page's matrix misses the mail watch's listing")
	}
	inc := do(t, c, "GET", srv.URL+"/incidents/1", "", nil).body
	for _, s := range []string{"on microsoft", "https://olcsupport.office.com/", "Fill in the form"} {
		if !strings.Contains(inc, s) {
			t.Errorf("the incident page lacks %q", s)
		}
	}
}
