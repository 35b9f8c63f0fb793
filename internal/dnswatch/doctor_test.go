package dnswatch

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/dnswatch/knottest"
	"github.com/vigie/vigie/internal/doctor"
	"github.com/vigie/vigie/internal/doctor/doctortest"
)

func runDNSDoctor(t *testing.T, cfg *config.Config, dataDir string, acct doctor.Account) map[string]doctor.Check {
	t.Helper()
	return doctortest.Run(t, string(Name), Doctor, doctor.Env{Config: cfg, DataDir: dataDir, Account: acct, Timeout: 5 * time.Second})
}

var root = doctor.Account{Name: "root", UID: 0}

// The DNS doctor against real Knot servers: the registry (dns.parents)
// answers for a sample domain of each zone; an inventory line that is
// not a domain is counted; a domain the registry does not delegate, a
// parent server that does not answer, a resolver that does not answer,
// an inventory with no domain, an unreadable inventory and an old RDAP
// bootstrap are each said, with their fix.
func TestDoctorDNS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts knotd")
	}
	l := knottest.NewLab(t, []string{"alpha.", "delta."}, 4)
	dir := t.TempDir()
	inv := filepath.Join(dir, "domains.txt")
	os.WriteFile(inv, []byte(strings.Join(l.Domains, "\n")+"\nd0.gamma.alpha\nnot a domain!\n"), 0o644)
	cfg := config.Default()
	cfg.DNS.DomainsFile = inv
	cfg.DNS.Parents = l.Parents()
	cfg.DNS.Resolver = l.Registry.HostPort() // authoritative for alpha. and delta.: answers their NS
	cfg.DNS.ChildPort = l.Port()
	// Knot answers in a millisecond, but this machine may be busy: the
	// watch's own timeout and a retry, as in production
	cfg.DNS.Timeout, cfg.DNS.Retries = 2*time.Second, 1

	cs := runDNSDoctor(t, cfg, "", root)
	doctortest.Want(t, cs, "inventory", doctor.Warn, "9 domain(s) under 3 parent zone(s) (alpha. 4, delta. 4, gamma.alpha. 1)", "1 bad line(s) skipped")
	doctortest.Want(t, cs, "resolver", doctor.OK, l.Registry.HostPort()+" (dns.resolver) answers: alpha. is served by ns.alpha.")
	doctortest.Want(t, cs, "parent servers alpha.", doctor.OK, "1 of 1 server(s) (dns.parents) answer for d0.alpha.: NS ns1.hoster.alpha., ns2.hoster.alpha.")
	doctortest.Want(t, cs, "parent servers delta.", doctor.OK, "answer for d0.delta.")
	doctortest.Want(t, cs, "rdap", doctor.Off, "dns.rdap.enabled: false")

	// dns.parents names a server where nothing answers.
	t.Run("a zone whose servers do not answer", func(t *testing.T) {
		c := *cfg
		c.DNS.Parents = map[string][]string{"alpha.": l.Parents()["alpha."], "delta.": l.Parents()["delta."]}
		c.DNS.DomainsFile = ""
		c.DNS.Domains = []string{"d0.alpha", "d1.alpha", "d0.gamma.alpha"}
		c.DNS.Parents["gamma.alpha."] = []string{fmt.Sprintf("%s:%d", l.Child.Addr, knottest.FreePortOn(t, l.Child.Addr))}
		cs := runDNSDoctor(t, &c, "", root)
		doctortest.Want(t, cs, "parent servers gamma.alpha.", doctor.Fail, "0 of 1 server(s) (dns.parents) answer for d0.gamma.alpha", "none answers", "(timeout)")
		doctortest.Want(t, cs, "parent servers alpha.", doctor.OK)
	})
	t.Run("a domain the registry does not delegate", func(t *testing.T) {
		c := *cfg
		c.DNS.DomainsFile = ""
		c.DNS.Domains = []string{"nowhere.alpha"}
		doctortest.Want(t, runDNSDoctor(t, &c, "", root), "parent servers alpha.", doctor.Warn, "says nowhere.alpha. is not delegated")
	})
	t.Run("the resolver does not answer", func(t *testing.T) {
		c := *cfg
		c.DNS.Timeout, c.DNS.Retries = 300*time.Millisecond, 0 // only dead servers here
		c.DNS.DomainsFile = ""
		c.DNS.Domains = []string{"d0.alpha"}
		c.DNS.Parents = map[string][]string{}
		c.DNS.Resolver = fmt.Sprintf("%s:%d", l.Child.Addr, knottest.FreePortOn(t, l.Child.Addr))
		cs := runDNSDoctor(t, &c, "", root)
		doctortest.Want(t, cs, "resolver", doctor.Fail, "does not answer for alpha. NS", "it finds the servers of the parent zones dns.parents does not list")
		doctortest.Want(t, cs, "parent servers alpha.", doctor.Fail, "cannot be swept", "finding the servers of alpha.")
	})
	t.Run("an inventory without a domain", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "domains.txt")
		os.WriteFile(bad, []byte("# export\nnot a domain!\n"), 0o644)
		c := *cfg
		c.DNS.DomainsFile = bad
		doctortest.Want(t, runDNSDoctor(t, &c, "", root), "inventory", doctor.Fail, "2 line(s), no valid domain")
	})
	t.Run("an inventory the daemon cannot read", func(t *testing.T) {
		if os.Getuid() != 0 {
			t.Skip("needs root to make a file others cannot read")
		}
		d := t.TempDir()
		os.Chmod(d, 0o755)
		f := filepath.Join(d, "domains.txt")
		os.WriteFile(f, []byte("d0.alpha\n"), 0o600)
		c := *cfg
		c.DNS.DomainsFile = f
		doctortest.Want(t, runDNSDoctor(t, &c, "", doctor.Account{Name: "vigie", UID: 64999, Groups: []int{64999}}),
			"inventory", doctor.Fail, "is not readable by the vigie user")
	})
	t.Run("rdap bootstrap", func(t *testing.T) {
		c := *cfg
		c.DNS.DomainsFile = ""
		c.DNS.Domains = []string{"d0.alpha", "d1.alpha", "d0.delta"}
		c.DNS.RDAP.Enabled = true
		// the embedded file: years old, and no RDAP server for alpha.
		// (.delta is a real TLD)
		doctortest.Want(t, runDNSDoctor(t, &c, t.TempDir(), root), "rdap", doctor.Warn, "the one built into vigie, published 2021-05-11",
			"no RDAP server for 2 domain(s) (under alpha.)", "older than 180 days")
		// a fresh file in the data directory, naming alpha. only
		data := t.TempDir()
		pub := time.Now().Add(-48 * time.Hour).UTC().Format(time.RFC3339)
		os.WriteFile(filepath.Join(data, "rdap-dns.json"), []byte(`{"version":"1.0","publication":"`+pub+`",
			"services":[[["alpha"],["https://rdap.alpha.example/"]]]}`), 0o644)
		cs := runDNSDoctor(t, &c, data, root)
		doctortest.Want(t, cs, "rdap", doctor.Warn, filepath.Join(data, "rdap-dns.json")+", published", "(2 days ago), 1 TLDs",
			"no RDAP server for 1 domain(s) (under delta.)")
		if strings.Contains(cs["rdap"].Found, "older than") {
			t.Errorf("a fresh file said old: %q", cs["rdap"].Found)
		}
		os.WriteFile(filepath.Join(data, "rdap-dns.json"), []byte(`{"version":"1.0","publication":"`+pub+`",
			"services":[[["alpha","delta"],["https://rdap.example/"]]]}`), 0o644)
		doctortest.Want(t, runDNSDoctor(t, &c, data, root), "rdap", doctor.OK, "2 TLDs")
	})
}
