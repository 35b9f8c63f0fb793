package blocklist

import (
	"bytes"
	"context"
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

// knot is a knotd serving the test blocklist zones of testdata/ on
// loopback. It is authoritative, so vigie's queries go straight to it.
type knot struct {
	dir   string
	conf  string
	addr  string // 127.0.0.1:port
	knotc string
}

// servedZones are the zones knot is configured with (broken.bl.test has a
// bad file, so knot answers SERVFAIL for it; notserved.bl.test is absent,
// so knot answers REFUSED).
var servedZones = []string{"good.bl.test", "refusing.bl.test", "limit.bl.test", "everything.bl.test",
	"parked.bl.test", "dbl.bl.test", "bits.bl.test", "broken.bl.test"}

func startKnot(t *testing.T) *knot {
	t.Helper()
	knotd := testutil.RequireProgram(t, "knotd")
	knotc := testutil.RequireProgram(t, "knotc")
	dir := t.TempDir()
	for _, z := range servedZones {
		data, err := os.ReadFile(filepath.Join("testdata", z+".zone"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, z+".zone"), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	port := testutil.FreePort(t)
	k := &knot{dir: dir, conf: filepath.Join(dir, "knot.conf"), addr: "127.0.0.1:" + strconv.Itoa(port), knotc: knotc}
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
	for _, z := range servedZones {
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
	// Ready when it answers for the good zone.
	deadline := time.Now().Add(10 * time.Second)
	c := &dns.Client{Timeout: 200 * time.Millisecond}
	for {
		m := new(dns.Msg)
		m.SetQuestion("2.0.0.127.good.bl.test.", dns.TypeA)
		if r, _, err := c.Exchange(m, k.addr); err == nil && r.Rcode == dns.RcodeSuccess && len(r.Answer) > 0 {
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

// setZone replaces a zone's records (the SOA serial is bumped) and has
// knot reload it.
func (k *knot) setZone(t *testing.T, zone, records string) {
	t.Helper()
	serial := time.Now().UnixNano() % 4000000000
	body := fmt.Sprintf("$ORIGIN %[1]s.\n$TTL 60\n@ SOA ns.%[1]s. hostmaster.%[1]s. %[2]d 3600 600 86400 60\n@ NS ns.%[1]s.\nns A 127.0.0.1\n%[3]s",
		zone, serial, records)
	if err := os.WriteFile(filepath.Join(k.dir, zone+".zone"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(k.knotc, "-c", k.conf, "-b", "zone-reload", zone).CombinedOutput()
	if err != nil {
		t.Fatalf("knotc zone-reload %s: %v: %s", zone, err, out)
	}
	// -b waits for the reload; make sure the new serial is served.
	c := &dns.Client{Timeout: time.Second}
	for i := 0; i < 100; i++ {
		m := new(dns.Msg)
		m.SetQuestion(zone+".", dns.TypeSOA)
		if r, _, err := c.Exchange(m, k.addr); err == nil && len(r.Answer) == 1 {
			if soa, ok := r.Answer[0].(*dns.SOA); ok && int64(soa.Serial) == serial {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("knot does not serve the new %s", zone)
}

func testZones(t *testing.T) []*Zone {
	t.Helper()
	data, err := os.ReadFile("testdata/zones-test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	zs, err := ParseData("zones-test.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	return zs
}

func zoneNamed(t *testing.T, zs []*Zone, name string) *Zone {
	t.Helper()
	for _, z := range zs {
		if z.Zone == name {
			return z
		}
	}
	t.Fatalf("no zone %s", name)
	return nil
}

func mustTargets(t *testing.T, names ...string) []Target {
	t.Helper()
	var out []Target
	for _, n := range names {
		tg, err := ParseTarget(n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tg)
	}
	return out
}

func checkerFor(k *knot, zs ...*Zone) *Checker {
	return &Checker{Zones: zs, Resolver: &Resolver{Servers: []string{k.addr}, Timeout: 2 * time.Second, Attempts: 1}}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func hasAll(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}
