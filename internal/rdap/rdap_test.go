package rdap_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/rdap"
	"github.com/vigie/vigie/internal/rdap/rdaptest"
)

// The shipped bootstrap is IANA's file: .com goes to Verisign, a name
// under a TLD without RDAP gets none.
func TestEmbeddedBootstrap(t *testing.T) {
	b := rdap.Embedded()
	if b.Entries() < 500 {
		t.Fatalf("%d entries", b.Entries())
	}
	if got := b.Servers("www.Example.COM."); len(got) == 0 || got[0] != "https://rdap.verisign.com/com/v1/" {
		t.Errorf("com: %v", got)
	}
	if got := b.Servers("example.invalid."); got != nil {
		t.Errorf("invalid: %v", got)
	}
}

func TestBootstrapInstall(t *testing.T) {
	dir := t.TempDir()
	srv := rdaptest.Start(t)
	if _, err := rdap.Install(dir, []byte(`{"publication":"2020-01-01T00:00:00Z","services":[[["test"],["https://x/"]]]}`)); err == nil {
		t.Error("an older bootstrap replaced the embedded one")
	}
	if _, err := rdap.Install(dir, []byte(`{"publication":"2030-01-01T00:00:00Z","services":[[["test"],["ftp://x/"]]]}`)); err == nil {
		t.Error("an ftp URL was accepted")
	}
	if _, err := rdap.Install(dir, srv.Bootstrap("test")); err != nil {
		t.Fatal(err)
	}
	b, err := rdap.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Servers("a.b.test."); len(got) != 1 || got[0] != srv.URL {
		t.Errorf("servers %v, want %s", got, srv.URL)
	}
}

// A lookup on a loopback RDAP server: status in RDAP form comes back in
// EPP form, the registrar from the jCard, the NS canonical; 404 is
// ErrNotFound; 429 is waited out.
func TestLookup(t *testing.T) {
	srv := rdaptest.Start(t)
	bs, err := rdap.ParseBootstrap(srv.Bootstrap("test"))
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	srv.Set("example.test", rdaptest.Registration{Status: []string{"client transfer prohibited", "server update prohibited", "client delete prohibited"},
		Expires: exp, Registrar: "Gandi SAS", IANAID: "81", Nameservers: []string{"NS2.HOSTER.NET", "NS1.HOSTER.NET"}})
	c := &rdap.Client{Bootstrap: bs, Rate: 50}
	d, err := c.Lookup(context.Background(), "example.test.")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Status, []string{"clientDeleteProhibited", "clientTransferProhibited", "serverUpdateProhibited"}) {
		t.Errorf("status %v", d.Status)
	}
	if !d.Expires.Equal(exp) || d.Registrar != "Gandi SAS" || d.RegistrarID != "81" {
		t.Errorf("got %+v", d)
	}
	if !slices.Equal(d.Nameservers, []string{"ns1.hoster.net.", "ns2.hoster.net."}) {
		t.Errorf("ns %v", d.Nameservers)
	}
	if _, err := c.Lookup(context.Background(), "nope.test."); !errors.Is(err, rdap.ErrNotFound) {
		t.Errorf("404: %v", err)
	}
	srv.Throttle(1)
	start := time.Now()
	if _, err := c.Lookup(context.Background(), "example.test."); err != nil {
		t.Fatalf("after a 429: %v", err)
	}
	if time.Since(start) < 900*time.Millisecond {
		t.Error("the Retry-After of a 429 was not waited")
	}
}

// FuzzParseDomain: whatever a server sends, ParseDomain returns an
// error or a domain, never panics, and keeps control characters out.
func FuzzParseDomain(f *testing.F) {
	f.Add([]byte(`{"objectClassName":"domain","status":["client hold"],"events":[{"eventAction":"expiration","eventDate":"2027-01-01T00:00:00Z"}],"entities":[{"roles":["registrar"],"vcardArray":["vcard",[["fn",{},"text","X"]]]}],"nameservers":[{"ldhName":"A.B"}]}`))
	f.Add([]byte(`{"objectClassName":"domain","entities":[{"roles":["registrar"],"vcardArray":["vcard",[["fn"]]]}]}`))
	f.Add([]byte(`{"errorCode":404}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := rdap.ParseDomain(b)
		if err != nil {
			return
		}
		for _, s := range append(append([]string{d.Registrar, d.Handle}, d.Status...), d.Nameservers...) {
			for _, r := range s {
				if r < 0x20 || r == 0x7f {
					t.Fatalf("control character in %q", s)
				}
			}
		}
	})
}
