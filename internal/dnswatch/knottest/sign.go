package knottest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/vigie/vigie/internal/testutil"
)

// SignOffline signs zone (its text) with new keys as Knot would have
// signed it at the time at (kzonesign --time): signatures valid for
// Knot's default 14 days from then. Signed 40 days ago, they are really
// expired; 12 days ago, they expire in two. Serve the result with
// StartZones (Sign false): knotd serves the signatures as they are.
func SignOffline(t testing.TB, zone string, text []byte, at time.Time) []byte {
	t.Helper()
	kz := testutil.RequireProgram(t, "kzonesign")
	dir := t.TempDir()
	file := strings.TrimSuffix(zone, ".") + ".zone"
	if err := os.WriteFile(filepath.Join(dir, file), text, 0o644); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`database:
    storage: %s
policy:
  - id: child
    algorithm: ecdsap256sha256
template:
  - id: default
    storage: %s
    file: "%%s.zone"
zone:
  - domain: %s
    dnssec-signing: on
    dnssec-policy: child
`, dir, dir, zone)
	if err := os.WriteFile(filepath.Join(dir, "knot.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(kz, "-c", filepath.Join(dir, "knot.conf"), "-o", out, "-t", strconv.FormatInt(at.Unix(), 10), zone)
	msg, err := cmd.CombinedOutput()
	signed, rerr := os.ReadFile(filepath.Join(out, file))
	if rerr != nil || !bytes.Contains(signed, []byte("RRSIG")) {
		t.Fatalf("kzonesign %s: %v %v: %s", zone, err, rerr, msg)
	}
	return signed
}

// KSKs returns the DNSKEYs with the SEP flag (the keys a DS names) in a
// zone's text or in a server's answer records.
func KSKs(t testing.TB, zone string, text []byte) []*dns.DNSKEY {
	t.Helper()
	var out []*dns.DNSKEY
	zp := dns.NewZoneParser(bytes.NewReader(text), zone, "")
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		if k, isKey := rr.(*dns.DNSKEY); isKey && k.Flags&dns.SEP != 0 {
			out = append(out, k)
		}
	}
	if err := zp.Err(); err != nil {
		t.Fatalf("zone %s: %v", zone, err)
	}
	return out
}

// ServedKSKs asks the server for zone's DNSKEY set and returns its KSKs.
func (s *Server) ServedKSKs(zone string) ([]*dns.DNSKEY, error) {
	m := new(dns.Msg)
	m.SetQuestion(zone, dns.TypeDNSKEY)
	m.RecursionDesired = false
	m.SetEdns0(4096, true)
	c := &dns.Client{Timeout: 2 * time.Second}
	r, _, err := c.Exchange(m, s.HostPort())
	if err != nil {
		return nil, err
	}
	var out []*dns.DNSKEY
	for _, rr := range r.Answer {
		if k, ok := rr.(*dns.DNSKEY); ok && k.Flags&dns.SEP != 0 {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no KSK for %s yet", zone)
	}
	return out, nil
}
