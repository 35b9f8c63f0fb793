package alert

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/vigie"
)

// incidentOf returns the incident id of the alert with key.
func (f *fixture) incidentOf(t *testing.T, key string) int64 {
	t.Helper()
	a, err := f.p.alertByKey(context.Background(), key)
	if err != nil {
		t.Fatalf("alert %q: %v", key, err)
	}
	return a.IncidentID
}

func (f *fixture) incidents(t *testing.T) []vigie.Incident {
	t.Helper()
	ins, err := f.store.ListIncidents(context.Background(), store.IncidentQuery{})
	if err != nil {
		t.Fatal(err)
	}
	return ins
}

func mailFinding(rule, subject string, at time.Time) vigie.Finding {
	return vigie.Finding{Watch: "mail", Rule: rule, Subject: subject, Severity: vigie.SeverityCritical, Time: at,
		Summary: subject + ": " + rule, Evidence: map[string]string{"messages": "600", "recipients": "5400"}}
}

func TestGroupingRules(t *testing.T) {
	type emitted struct {
		f   vigie.Finding
		key string // alert key, to find its incident
	}
	dnsF := func(domain, nsset string, at time.Time) vigie.Finding {
		return vigie.Finding{Watch: "dns", Rule: "ns-changed", Subject: domain, Group: "ns=" + nsset, Severity: vigie.SeverityCritical,
			Time: at, Summary: domain + " NS changed", Evidence: map[string]string{"expected": "ns1.registrar.fr ns2.registrar.fr", "observed": nsset}}
	}
	ctF := func(serial, names string, at time.Time) vigie.Finding {
		return vigie.Finding{Watch: "ct", Rule: "new-certificate", Subject: serial, Severity: vigie.SeverityWarning, Time: at,
			Summary: "certificate for " + names, Evidence: map[string]string{"names": names, "issuer": "Let's Encrypt"}}
	}
	blF := func(target, list string, at time.Time) vigie.Finding {
		return vigie.Finding{Watch: "blocklist", Rule: "listed", Subject: target, Key: vigie.BlocklistKey(target, list),
			Severity: vigie.SeverityCritical, Time: at, Summary: target + " listed by " + list}
	}
	webF := func(site, uid string, at time.Time) vigie.Finding {
		ev := map[string]string{"owner": "club", "cms": "drupal 7.58"}
		if uid != "" {
			ev["uid"] = uid
		}
		return vigie.Finding{Watch: "web", Rule: "outdated-cms", Subject: site, Severity: vigie.SeverityWarning, Time: at,
			Summary: site + " runs an outdated Drupal", Evidence: ev}
	}
	for _, tc := range []struct {
		name     string
		findings []vigie.Finding
		// together lists the findings (by index) that must share an
		// incident; apart, the ones that must not share with index 0.
		together []int
		apart    []int
	}{
		{name: "same account, several rules",
			findings: []vigie.Finding{mailFinding("account-volume", "alice@club1.fr", t0), mailFinding("many-ips", "alice@club1.fr", t0.Add(time.Minute)),
				mailFinding("account-volume", "bob@club1.fr", t0)},
			together: []int{0, 1}, apart: []int{2}},
		{name: "same rogue NS set",
			findings: []vigie.Finding{dnsF("a.fr", "ns1.rogue.example", t0), dnsF("b.com", "ns1.rogue.example", t0.Add(time.Second)),
				dnsF("c.fr", "ns9.other.example", t0)},
			together: []int{0, 1}, apart: []int{2}},
		{name: "site and its mail uid, web first",
			findings: []vigie.Finding{webF("/var/www/asso", "1001", t0), mailFinding("uid-volume", "uid:1001", t0.Add(time.Hour)),
				mailFinding("uid-volume", "uid:1002", t0), webF("/var/www/other", "", t0)},
			together: []int{0, 1}, apart: []int{2, 3}},
		{name: "mail uid first, then its site",
			findings: []vigie.Finding{mailFinding("uid-volume", "uid:33", t0), webF("/var/www/drupal", "33", t0.Add(time.Minute))},
			together: []int{0, 1}},
		{name: "blocklisting after a compromise",
			findings: []vigie.Finding{mailFinding("account-volume", "alice@club1.fr", t0), blF("192.0.2.25", "microsoft", t0.Add(20*time.Hour)),
				blF("192.0.2.25", "zen.spamhaus.org", t0.Add(30*time.Hour))},
			together: []int{0, 1, 2}},
		{name: "blocklisting long after the compromise stays apart",
			findings: []vigie.Finding{mailFinding("account-volume", "alice@club1.fr", t0), blF("192.0.2.25", "microsoft", t0.Add(100*time.Hour))},
			apart:    []int{1}},
		{name: "blocklisting without a compromise stays apart",
			findings: []vigie.Finding{dnsF("a.fr", "ns1.rogue.example", t0), blF("192.0.2.25", "microsoft", t0.Add(time.Hour))},
			apart:    []int{1}},
		{name: "certificates issued during a DNS drift",
			findings: []vigie.Finding{dnsF("a.fr", "ns1.rogue.example", t0), dnsF("b.fr", "ns1.rogue.example", t0),
				ctF("04:aa", "www.a.fr", t0.Add(time.Hour)), ctF("04:bb", "*.b.fr, b.fr", t0.Add(2*time.Hour)),
				ctF("04:cc", "c.fr", t0.Add(time.Hour)), ctF("04:dd", "nota.fr", t0.Add(time.Hour))},
			together: []int{0, 1, 2, 3}, apart: []int{4, 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			for _, fd := range tc.findings {
				f.emit(t, fd)
			}
			inc := func(i int) int64 { return f.incidentOf(t, tc.findings[i].AlertKey()) }
			for _, i := range tc.together {
				if inc(i) != inc(tc.together[0]) {
					t.Errorf("finding %d (%s) is in incident %d, want %d", i, tc.findings[i].AlertKey(), inc(i), inc(tc.together[0]))
				}
			}
			for _, i := range tc.apart {
				if inc(i) == inc(0) {
					t.Errorf("finding %d (%s) joined incident %d", i, tc.findings[i].AlertKey(), inc(0))
				}
			}
		})
	}
}

func TestBlocklistingReopensRecentlyResolvedCompromise(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.emit(t, mailFinding("account-volume", "alice@club1.fr", t0))
	id := f.incidentOf(t, "mail/account-volume/alice@club1.fr")
	if _, err := f.p.ResolveIncident(ctx, id, "admin", "password changed, queue purged"); err != nil {
		t.Fatal(err)
	}
	f.emit(t, vigie.Finding{Watch: "mail", Rule: "blocklist-bounce", Key: vigie.BlocklistKey("192.0.2.25", "microsoft"),
		Subject: "192.0.2.25", Severity: vigie.SeverityCritical, Time: t0.Add(5 * time.Hour), Summary: "S3150 from outlook.com"})
	if got := f.incidentOf(t, vigie.BlocklistKey("192.0.2.25", "microsoft")); got != id {
		t.Fatalf("blocklist alert in incident %d, want %d", got, id)
	}
	in, _ := f.store.Incident(ctx, id)
	if in.State != vigie.IncidentOpen {
		t.Errorf("incident is %s, want re-opened", in.State)
	}
	tl, _ := f.store.Timeline(ctx, id)
	var texts []string
	for _, e := range tl {
		texts = append(texts, e.Text)
	}
	all := strings.Join(texts, "\n")
	if !strings.Contains(all, "incident re-opened: blocklisting after a compromise") || !strings.Contains(all, "(joined: blocklisting after a compromise)") {
		t.Errorf("timeline:\n%s", all)
	}
}

func TestGroupKeyDefaults(t *testing.T) {
	for _, tc := range []struct {
		f    vigie.Finding
		want string
	}{
		{vigie.Finding{Watch: "mail", Rule: "r", Subject: "alice"}, "account:alice"},
		{vigie.Finding{Watch: "mail", Rule: "r", Subject: "uid:33"}, "account:uid:33"},
		{vigie.Finding{Watch: "policy", Rule: "over-limit", Subject: "alice"}, "account:alice"},
		{vigie.Finding{Watch: "mail", Rule: "r", Subject: "alice", Group: "explicit"}, "explicit"},
		{vigie.Finding{Watch: "web", Rule: "r", Subject: "/var/www/a", Evidence: map[string]string{"uid": "33", "owner": "www"}}, "account:uid:33"},
		{vigie.Finding{Watch: "web", Rule: "r", Subject: "/var/www/a"}, "site:/var/www/a"},
		{vigie.Finding{Watch: "blocklist", Rule: "listed", Key: vigie.BlocklistKey("192.0.2.1", "zen")}, "blocklist/192.0.2.1/zen"},
		{vigie.Finding{Watch: "mail", Rule: "bounce", Subject: "x", Key: vigie.BlocklistKey("192.0.2.1", "microsoft")}, "blocklist/192.0.2.1/microsoft"},
		{vigie.Finding{Watch: "dns", Rule: "ns", Subject: "a.fr"}, "dns/ns/a.fr"},
	} {
		if got := GroupKey(shipped, &tc.f); got != tc.want {
			t.Errorf("GroupKey(%+v) = %q, want %q", tc.f, got, tc.want)
		}
	}
}

// Without descriptors a pipeline knows no watch's grouping: a finding is
// grouped by its explicit Group, else it is its own alert.
func TestGroupKeyWithoutWatches(t *testing.T) {
	for _, tc := range []struct {
		f    vigie.Finding
		want string
	}{
		{vigie.Finding{Watch: "mail", Rule: "r", Subject: "alice"}, "mail/r/alice"},
		{vigie.Finding{Watch: "web", Rule: "r", Subject: "/var/www/a", Evidence: map[string]string{"uid": "33"}}, "web/r//var/www/a"},
		{vigie.Finding{Watch: "mail", Rule: "r", Subject: "alice", Group: "explicit"}, "explicit"},
		{vigie.Finding{Watch: "blocklist", Rule: "listed", Key: vigie.BlocklistKey("192.0.2.1", "zen")}, "blocklist/192.0.2.1/zen"},
	} {
		if got := GroupKey(nil, &tc.f); got != tc.want {
			t.Errorf("GroupKey(nil, %+v) = %q, want %q", tc.f, got, tc.want)
		}
	}
}
