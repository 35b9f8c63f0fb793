// Package knottest runs a real Knot DNS server (knotd) on loopback serving
// test blocklist zones, for the blocklist watch's tests and the CLI's. Knot
// is authoritative, so the resolver vigie is pointed at answers straight
// from the zones.
//
// The zones (testdata/*.zone) hold: listed entries with A and TXT, the
// RFC 5782 health entries, Spamhaus-style error codes, answers outside
// 127.0.0.0/8, a 10,000-byte TXT, a zone that lists everything (the
// lapsed-domain failure), a parked zone, a zone knot fails to load (so it
// answers SERVFAIL) and, by its absence, one it refuses.
// testdata/zones-test.yaml describes them in the watch's data format.
package knottest

import (
	"bytes"
	"embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/vigie/vigie/internal/testutil"
)

//go:embed testdata
var files embed.FS

// Zones is the data file describing the test zones (zones-test.yaml).
func Zones() []byte {
	b, err := files.ReadFile("testdata/zones-test.yaml")
	if err != nil {
		panic(err)
	}
	return b
}

// Served are the zones knot is configured with. broken.bl.test has a bad
// file, so knot answers SERVFAIL for it; notserved.bl.test (in Zones) is
// absent, so knot answers REFUSED.
var Served = []string{"good.bl.test", "refusing.bl.test", "limit.bl.test", "everything.bl.test",
	"parked.bl.test", "dbl.bl.test", "bits.bl.test", "broken.bl.test"}

// Knot is a running knotd.
type Knot struct {
	Addr  string // 127.0.0.1:port, UDP and TCP
	dir   string
	conf  string
	knotc string
}

// Start runs knotd until the test ends. It skips (or fails under
// `make test`) when Knot is not installed.
func Start(t testing.TB) *Knot {
	t.Helper()
	knotd := testutil.RequireProgram(t, "knotd")
	knotc := testutil.RequireProgram(t, "knotc")
	dir := t.TempDir()
	for _, z := range Served {
		data, err := files.ReadFile("testdata/" + z + ".zone")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, z+".zone"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	port := testutil.FreePort(t)
	k := &Knot{dir: dir, conf: filepath.Join(dir, "knot.conf"), Addr: "127.0.0.1:" + strconv.Itoa(port), knotc: knotc}
	var conf bytes.Buffer
	fmt.Fprintf(&conf, `server:
    rundir: "%[1]s"
    listen: 127.0.0.1@%[2]d
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "%[1]s/db"
control:
    listen: "%[1]s/knot.sock"
log:
  - target: stderr
    any: warning
template:
  - id: default
    storage: "%[1]s"
    file: "%%s.zone"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    semantic-checks: off
zone:
`, dir, port)
	for _, z := range Served {
		fmt.Fprintf(&conf, "  - domain: %s\n", z)
	}
	if err := os.WriteFile(k.conf, conf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(knotd, "-c", k.conf)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	deadline := time.Now().Add(10 * time.Second)
	c := &dns.Client{Timeout: 200 * time.Millisecond}
	for {
		m := new(dns.Msg)
		m.SetQuestion("2.0.0.127.good.bl.test.", dns.TypeA)
		if r, _, err := c.Exchange(m, k.Addr); err == nil && r.Rcode == dns.RcodeSuccess && len(r.Answer) > 0 {
			return k
		}
		select {
		case <-exited:
			t.Fatalf("knotd exited: %s", stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("knotd did not answer within 10s: %s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// SetZone replaces a zone's records (SOA and NS are added, the serial
// bumped) and waits until knot serves them.
func (k *Knot) SetZone(t testing.TB, zone, records string) {
	t.Helper()
	serial := time.Now().UnixNano()%4000000000 + 1
	body := fmt.Sprintf("$ORIGIN %[1]s.\n$TTL 60\n@ SOA ns.%[1]s. hostmaster.%[1]s. %[2]d 3600 600 86400 60\n@ NS ns.%[1]s.\nns A 127.0.0.1\n%[3]s",
		zone, serial, records)
	if err := os.WriteFile(filepath.Join(k.dir, zone+".zone"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(k.knotc, "-c", k.conf, "-b", "zone-reload", zone).CombinedOutput()
	if err != nil {
		t.Fatalf("knotc zone-reload %s: %v: %s", zone, err, out)
	}
	c := &dns.Client{Timeout: time.Second}
	for i := 0; i < 200; i++ {
		m := new(dns.Msg)
		m.SetQuestion(zone+".", dns.TypeSOA)
		if r, _, err := c.Exchange(m, k.Addr); err == nil && len(r.Answer) == 1 {
			if soa, ok := r.Answer[0].(*dns.SOA); ok && int64(soa.Serial) == serial {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("knot does not serve the new %s", zone)
}
