package dnswatch_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/dnswatch"
	"github.com/vigie/vigie/internal/dnswatch/knottest"
	"github.com/vigie/vigie/internal/rdap"
	"github.com/vigie/vigie/internal/rdap/rdaptest"
	"github.com/vigie/vigie/internal/store"
	"github.com/vigie/vigie/internal/watch/watchtest"
)

func TestConformance(t *testing.T) {
	t.Run("absent", func(t *testing.T) {
		watchtest.Absent(t, dnswatch.Descriptor(), config.Default())
	})
	t.Run("run", func(t *testing.T) {
		if testing.Short() {
			t.Skip("starts knotd")
		}
		// A registry and the domains' servers (knotd on loopback); once
		// the watch has swept the delegations (its baseline), one domain's
		// NS are moved to a rogue set at the registry.
		l := knottest.NewLab(t, []string{"alpha.", "delta."}, 4)
		// A signed TLD beside it, with their DS at the parent: a zone
		// whose signatures really expired (signed 40 days ago: a broken
		// chain) and one whose signatures expire in two days (signed 12
		// days ago).
		sec := knottest.LoopbackBlock()
		expired := knottest.SignOffline(t, "expired.sec.", secZone("expired.sec."), time.Now().Add(-40*24*time.Hour))
		expiring := knottest.SignOffline(t, "expiring.sec.", secZone("expiring.sec."), time.Now().Add(-12*24*time.Hour))
		knottest.StartZones(t, sec[1], l.Port(), []knottest.Zone{{Name: "expired.sec.", Text: expired}, {Name: "expiring.sec.", Text: expiring}})
		ns := []string{"ns1.hoster.sec."}
		secParent := knottest.StartSigned(t, sec[0], l.Port(), map[string]func(w io.Writer) error{
			"sec.": func(w io.Writer) error {
				return knottest.WriteParentZone(w, "sec.", 1, []knottest.Delegation{
					{Name: "expired.sec.", NS: ns, DS: dsOf(knottest.KSKs(t, "expired.sec.", expired)[0], "expired.sec.")},
					{Name: "expiring.sec.", NS: ns, DS: dsOf(knottest.KSKs(t, "expiring.sec.", expiring)[0], "expiring.sec.")},
					{Name: "hoster.sec.", NS: ns}}, map[string][]string{"ns1.hoster.sec.": {sec[1]}})
			}})
		// The registries' RDAP server (one, on loopback, for the three
		// TLDs, through a bootstrap file in the data directory): the
		// domains as registered, then some of them changed.
		srv := rdaptest.Start(t)
		data := t.TempDir()
		if err := os.WriteFile(rdap.BootstrapPath(data), srv.Bootstrap("alpha", "delta", "sec"), 0o644); err != nil {
			t.Fatal(err)
		}
		locks := []string{"client delete prohibited", "client transfer prohibited", "client update prohibited"}
		registered := func(d string) rdaptest.Registration {
			var rns []string
			for _, n := range knottest.LegitNS(d[strings.IndexByte(d, '.')+1:]) {
				rns = append(rns, strings.ToUpper(strings.TrimSuffix(n, ".")))
			}
			return rdaptest.Registration{Status: locks, Expires: time.Now().Add(300 * 24 * time.Hour),
				Registrar: "Registrar A SAS", IANAID: "1234", Nameservers: rns}
		}
		for _, d := range l.Domains {
			srv.Set(d, registered(d))
		}
		soon := registered("d0.alpha.")
		soon.Expires = time.Now().Add(5 * 24 * time.Hour) // expires in 5 days
		srv.Set("d0.alpha.", soon)
		other := registered("d1.alpha.")
		other.Nameservers = []string{"NS1.ELSEWHERE.NET", "NS2.ELSEWHERE.NET"} // the registry's NS are not the parent's
		srv.Set("d1.alpha.", other)
		for _, d := range []string{"expired.sec.", "expiring.sec."} {
			srv.Set(d, rdaptest.Registration{Status: locks, Expires: time.Now().Add(300 * 24 * time.Hour),
				Registrar: "Registrar A SAS", IANAID: "1234", Nameservers: []string{"NS1.HOSTER.SEC"}})
		}

		cfg := config.Default()
		cfg.DNS.Domains = append(append([]string(nil), l.Domains...), "expired.sec.", "expiring.sec.")
		cfg.DNS.Parents = l.Parents()
		cfg.DNS.Parents["sec."] = []string{secParent.HostPort()}
		cfg.DNS.ChildPort = l.Port()
		cfg.DNS.ParentInterval, cfg.DNS.RecordsInterval, cfg.DNS.Timeout = 50*time.Millisecond, time.Hour, time.Second
		cfg.DNS.RDAP.Enabled, cfg.DNS.RDAP.Interval, cfg.DNS.RDAP.RateLimit = true, 500*time.Millisecond, 1000
		watchtest.RunIn(t, dnswatch.Descriptor(), cfg, data, 60*time.Second, func(ctx context.Context, st store.Store) {
			for ctx.Err() == nil {
				if ss, _ := st.Samples(ctx, string(dnswatch.SeriesSweepSeconds), "delegation", time.Time{}, time.Now().Add(time.Hour)); len(ss) > 0 {
					l.Hijacked[l.Domains[len(l.Domains)-1]] = true
					l.Publish()
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			// Two RDAP passes with the registrations as first seen, then a
			// lock removed and a transfer to another registrar.
			select {
			case <-ctx.Done():
				return
			case <-time.After(2 * cfg.DNS.RDAP.Interval):
			}
			unlocked := registered("d2.alpha.")
			unlocked.Status = locks[:1]
			srv.Set("d2.alpha.", unlocked)
			moved := registered("d0.delta.")
			moved.Registrar, moved.IANAID = "Registrar B Ltd", "9999"
			srv.Set("d0.delta.", moved)
		})
	})
}

func secZone(name string) []byte {
	return fmt.Appendf(nil, "$TTL 300\n%s IN SOA ns1.hoster.sec. hostmaster.%s 1 3600 600 86400 300\n%s IN NS ns1.hoster.sec.\n%s IN A 192.0.2.7\n",
		name, name, name, name)
}

func dsOf(k *dns.DNSKEY, owner string) string {
	kk := *k
	kk.Hdr.Name = owner
	ds := kk.ToDS(dns.SHA256)
	return fmt.Sprintf("%d %d %d %s", ds.KeyTag, ds.Algorithm, ds.DigestType, ds.Digest)
}
