package dnswatch

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/vigie/vigie/internal/alert"
	"github.com/vigie/vigie/internal/dnswatch/knottest"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/store/sqlite"
	"github.com/vigie/vigie/internal/vigie"
)

func dsText(k *dns.DNSKEY, owner string) string {
	kk := *k
	kk.Hdr.Name = owner
	ds := kk.ToDS(dns.SHA256)
	return fmt.Sprintf("%d %d %d %s", ds.KeyTag, ds.Algorithm, ds.DigestType, ds.Digest)
}

func plainZone(name string) []byte {
	return fmt.Appendf(nil, "$TTL 300\n%s IN SOA ns1.hoster.sec. hostmaster.%s 1 3600 600 86400 300\n%s IN NS ns1.hoster.sec.\n%s IN A 192.0.2.7\n%s IN MX 10 mx.hoster.sec.\n",
		name, name, name, name, name)
}

// DNSSEC chains on real zones signed by Knot: ten zones knotd signs
// itself with their DS at the parent (healthy, must stay quiet), a zone
// whose parent publishes the DS of another key (mismatch), a zone
// signed by Knot 40 days ago whose signatures really expired, one signed
// 12 days ago whose signatures expire in two days, an unsigned zone with
// a DS, and unsigned zones without DS (not checked). Then the registry
// fixes the mismatch and drops a DS: the broken chain resolves and the
// DS removal is a drift.
func TestDNSSECChainsOnKnot(t *testing.T) {
	if testing.Short() {
		t.Skip("starts knotd")
	}
	ctx := context.Background()
	now := time.Now()
	addrs := knottest.LoopbackBlock()
	port := knottest.FreePortOn(t, addrs[0], addrs[1])
	var zones []knottest.Zone
	var good []string
	for i := 0; i < 10; i++ {
		n := fmt.Sprintf("good%d.sec.", i)
		good = append(good, n)
		zones = append(zones, knottest.Zone{Name: n, Text: plainZone(n), Sign: true})
	}
	expired := knottest.SignOffline(t, "expired.sec.", plainZone("expired.sec."), now.Add(-40*24*time.Hour))
	expiring := knottest.SignOffline(t, "expiring.sec.", plainZone("expiring.sec."), now.Add(-12*24*time.Hour))
	zones = append(zones,
		knottest.Zone{Name: "mismatch.sec.", Text: plainZone("mismatch.sec."), Sign: true},
		knottest.Zone{Name: "expired.sec.", Text: expired},
		knottest.Zone{Name: "expiring.sec.", Text: expiring},
		knottest.Zone{Name: "unsigned.sec.", Text: plainZone("unsigned.sec.")})
	var plain []string
	for i := 0; i < 5; i++ {
		n := fmt.Sprintf("plain%d.sec.", i)
		plain = append(plain, n)
		zones = append(zones, knottest.Zone{Name: n, Text: plainZone(n)})
	}
	child := knottest.StartZones(t, addrs[1], port, zones)
	ksk := map[string]*dns.DNSKEY{}
	for _, n := range append(append([]string{}, good...), "mismatch.sec.") {
		deadline := time.Now().Add(time.Minute)
		for {
			keys, err := child.ServedKSKs(n)
			if err == nil {
				ksk[n] = keys[0]
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("knotd did not sign %s: %v", n, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	ksk["expired.sec."] = knottest.KSKs(t, "expired.sec.", expired)[0]
	ksk["expiring.sec."] = knottest.KSKs(t, "expiring.sec.", expiring)[0]

	ns := []string{"ns1.hoster.sec."}
	glue := map[string][]string{"ns1.hoster.sec.": {child.Addr}}
	delegations := func(fixed bool) []knottest.Delegation {
		var dels []knottest.Delegation
		for i, n := range good {
			d := knottest.Delegation{Name: n, NS: ns, DS: dsText(ksk[n], n)}
			if fixed && i == 1 {
				d.DS = "" // the registrant turned DNSSEC off at the registry
			}
			dels = append(dels, d)
		}
		mismatch := dsText(ksk["good0.sec."], "mismatch.sec.") // the DS of a key the zone does not serve
		if fixed {
			mismatch = dsText(ksk["mismatch.sec."], "mismatch.sec.")
		}
		dels = append(dels,
			knottest.Delegation{Name: "mismatch.sec.", NS: ns, DS: mismatch},
			knottest.Delegation{Name: "expired.sec.", NS: ns, DS: dsText(ksk["expired.sec."], "expired.sec.")},
			knottest.Delegation{Name: "expiring.sec.", NS: ns, DS: dsText(ksk["expiring.sec."], "expiring.sec.")},
			knottest.Delegation{Name: "unsigned.sec.", NS: ns, DS: dsText(ksk["good0.sec."], "unsigned.sec.")},
			knottest.Delegation{Name: "hoster.sec.", NS: ns})
		for _, n := range plain {
			dels = append(dels, knottest.Delegation{Name: n, NS: ns})
		}
		return dels
	}
	parentText := func(serial uint32, fixed bool) []byte {
		return knottest.ParentZone("sec.", serial, delegations(fixed), glue)
	}
	parent := knottest.StartSigned(t, addrs[0], port, map[string]func(io.Writer) error{
		"sec.": func(w io.Writer) error { _, err := w.Write(parentText(1, false)); return err }})

	dir := t.TempDir()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "vigie.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pipe := alert.New(alert.Options{Store: db})
	m, err := New(Options{Parents: map[string][]string{"sec.": {parent.HostPort()}}, ChildPort: uint16(port),
		Timeout: time.Second, Retries: 2, Backoff: 50 * time.Millisecond, InFlight: 50})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var inv []string
	for _, z := range zones {
		inv = append(inv, z.Name)
	}
	if _, err := m.SetInventory(Inventory{Lines: inv}.Scan); err != nil {
		t.Fatal(err)
	}
	rep := &Reporter{Sink: pipe, State: db}

	res := sweep(t, m, rep, true)
	if len(res.Errors) != 0 {
		t.Fatalf("errors %v %v", res.Errors, res.ErrorSamples)
	}
	if res.DNSSECChecked != 14 {
		t.Errorf("checked %d domains' chains, want the 14 with a DS", res.DNSSECChecked)
	}
	got := map[string]SecCheck{}
	for _, c := range res.DNSSEC {
		got[c.Domain] = c
	}
	want := map[string]SecStatus{"mismatch.sec.": SecBroken, "expired.sec.": SecBroken, "unsigned.sec.": SecBroken, "expiring.sec.": SecExpiring}
	for d, st := range want {
		if got[d].Status != st {
			t.Errorf("%s: %v (%s), want %v", d, got[d].Status, got[d].Problem, st)
		}
	}
	if len(got) != len(want) {
		t.Errorf("findings for %d domains, want %d: %+v", len(got), len(want), res.DNSSEC)
	}
	for d, why := range map[string]string{"mismatch.sec.": "no DNSKEY served by the domain matches a DS",
		"expired.sec.": "expired on", "unsigned.sec.": "serve no DNSKEY"} {
		if !strings.Contains(got[d].Problem, why) {
			t.Errorf("%s: problem %q does not say %q", d, got[d].Problem, why)
		}
	}

	// The alerts: a broken chain's summary names the domain, the DS and
	// the DNSKEYs.
	alerts := func() map[string]vigie.Alert {
		as, err := db.ListAlerts(ctx, store.AlertQuery{Watch: WatchName, Limit: 1000,
			States: []vigie.AlertState{vigie.AlertFiring}})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]vigie.Alert{}
		for _, a := range as {
			out[a.Key] = a
		}
		return out
	}
	as := alerts()
	mm, ok := as[SecKey(RuleDNSSECBroken, "mismatch.sec.")]
	if !ok || mm.Severity != vigie.SeverityCritical {
		t.Fatalf("no critical alert for mismatch.sec.: %v", as)
	}
	wrongDS := strings.ToUpper(strings.Fields(dsText(ksk["good0.sec."], "mismatch.sec."))[3])
	for _, part := range []string{"mismatch.sec.", wrongDS, fmt.Sprint(ksk["mismatch.sec."].KeyTag()) + " ECDSAP256SHA256 KSK"} {
		if !strings.Contains(mm.Summary, part) {
			t.Errorf("summary %q does not name %q", mm.Summary, part)
		}
	}
	// The incident of the broken chain says the same story.
	incs, err := db.ListIncidents(ctx, store.IncidentQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var told bool
	for _, inc := range incs {
		if inc.ID == mm.IncidentID {
			told = strings.Contains(inc.Title, "mismatch.sec.") && strings.Contains(inc.Title, wrongDS) &&
				strings.Contains(inc.Title, "ECDSAP256SHA256 KSK")
			if !told {
				t.Errorf("incident title %q does not name the domain, the DS and the DNSKEYs", inc.Title)
			}
		}
	}
	if !told {
		t.Errorf("no incident for the broken chain of mismatch.sec. (alert incident %d)", mm.IncidentID)
	}
	// The incident report reads the alert through the descriptor: a note
	// under DNSSEC that names the domain, the DS and the DNSKEYs.
	rd, err := Descriptor().Report.Read(ctx, &mm, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rd.Notes) != 1 || rd.Notes[0].Topic != NoteTopicDNSSEC || rd.Notes[0].Severity != vigie.SeverityCritical ||
		!strings.Contains(rd.Notes[0].Text, "mismatch.sec.") || !strings.Contains(rd.Notes[0].Text, wrongDS) ||
		!strings.Contains(rd.Notes[0].Text, "ECDSAP256SHA256 KSK") || len(rd.Domains) != 1 || rd.Domains[0] != "mismatch.sec." {
		t.Errorf("the report's reading of the broken chain: %+v", rd)
	}
	if a, ok := as[SecKey(RuleDNSSECExpiring, "expiring.sec.")]; !ok || a.Severity != vigie.SeverityWarning {
		t.Errorf("no warning for expiring.sec.: %v", as)
	}
	if len(as) != 4 {
		t.Errorf("%d alerts, want 4: %v", len(as), as)
	}

	// The registry publishes the right DS for mismatch.sec. and drops the
	// DS of good1.sec.
	parent.Replace("sec.", parentText(2, true), 2)
	res = sweep(t, m, rep, true)
	as = alerts()
	if _, ok := as[SecKey(RuleDNSSECBroken, "mismatch.sec.")]; ok {
		t.Errorf("mismatch.sec. still broken after the fix: %+v", res.DNSSEC)
	}
	dr, ok := as[DriftKey("good1.sec.", KindDS.String())]
	if !ok || !strings.Contains(dr.Summary, "removed") {
		t.Errorf("the DS removal of good1.sec. is not a drift: %v", as)
	}
	if _, ok := as[DriftKey("mismatch.sec.", KindDS.String())]; !ok {
		t.Errorf("the new DS of mismatch.sec. is not a drift (a DS change at the registry is one, as an NS change): %v", as)
	}
	if len(as) != 5 { // expired, expiring, unsigned, and the two DS drifts
		t.Errorf("%d alerts after the fix, want 5: %v", len(as), as)
	}
}
