// Package knottest runs real Knot DNS servers (knotd) on loopback for the
// DNS watch's tests and benchmark: a "registry" serving TLD zones full of
// delegations, and the domains' own servers.
package knottest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/vigie/vigie/internal/testutil"
)

// Server is one running knotd.
type Server struct {
	Addr  string // IP address
	Port  int
	dir   string
	conf  string
	knotc string
	cmd   *exec.Cmd
	t     testing.TB
}

// HostPort is the server's address as host:port.
func (s *Server) HostPort() string { return net.JoinHostPort(s.Addr, fmt.Sprint(s.Port)) }

// LoopbackBlock returns three addresses 127.A.B.1-3 picked at random, so
// tests running side by side (and other engineers' servers) do not meet.
func LoopbackBlock() [3]string {
	a, b := 1+rand.IntN(250), 1+rand.IntN(250)
	return [3]string{fmt.Sprintf("127.%d.%d.1", a, b), fmt.Sprintf("127.%d.%d.2", a, b), fmt.Sprintf("127.%d.%d.3", a, b)}
}

// FreePortOn returns a port free for both UDP and TCP on every address.
func FreePortOn(t testing.TB, addrs ...string) int {
	t.Helper()
	for try := 0; try < 50; try++ {
		port := 20000 + rand.IntN(40000)
		ok := true
		for _, a := range addrs {
			hp := net.JoinHostPort(a, fmt.Sprint(port))
			l, err := net.Listen("tcp", hp)
			if err != nil {
				ok = false
				break
			}
			u, err := net.ListenPacket("udp", hp)
			l.Close()
			if err != nil {
				ok = false
				break
			}
			u.Close()
		}
		if ok {
			return port
		}
	}
	t.Fatal("no free port on loopback")
	return 0
}

// Start runs knotd on addr:port serving zones (zone name -> zone file
// text) from a temporary directory, and stops it when the test ends.
func Start(t testing.TB, addr string, port int, zones map[string][]byte) *Server {
	t.Helper()
	gen := map[string]func(io.Writer) error{}
	for name, text := range zones {
		gen[name] = func(w io.Writer) error { _, err := w.Write(text); return err }
	}
	return StartWith(t, addr, port, gen)
}

// StartWith is Start with zone files written by functions, so that a zone
// of millions of delegations is streamed to disk, never held in memory.
func StartWith(t testing.TB, addr string, port int, zones map[string]func(io.Writer) error) *Server {
	return start(t, addr, port, zones, nil)
}

// StartSigned is StartWith for a signed parent, as real TLDs are: knotd
// signs the zones with NSEC3 opt-out (like .com), so a referral carries
// the DS of a signed delegation, or the proof that an unsigned one has
// none, and the DS needs no query of its own.
func StartSigned(t testing.TB, addr string, port int, zones map[string]func(io.Writer) error) *Server {
	return start(t, addr, port, zones, func(string) string { return "optout" })
}

// A Zone is one zone of StartZones.
type Zone struct {
	Name string
	Text []byte
	// Sign: knotd signs the zone itself (a KSK and a ZSK, ECDSA P-256,
	// NSEC), as a DNS hoster's signer does. A zone signed beforehand
	// (SignOffline) is served as it is.
	Sign bool
}

// StartZones runs knotd serving zones, some signed by knotd itself.
func StartZones(t testing.TB, addr string, port int, zones []Zone) *Server {
	gen := map[string]func(io.Writer) error{}
	sign := map[string]bool{}
	for _, z := range zones {
		gen[z.Name] = func(w io.Writer) error { _, err := w.Write(z.Text); return err }
		sign[z.Name] = z.Sign
	}
	return start(t, addr, port, gen, func(name string) string {
		if sign[name] {
			return "child"
		}
		return ""
	})
}

func start(t testing.TB, addr string, port int, zones map[string]func(io.Writer) error, policy func(zone string) string) *Server {
	t.Helper()
	knotd := testutil.RequireProgram(t, "knotd")
	knotc := testutil.RequireProgram(t, "knotc")
	dir := t.TempDir()
	s := &Server{Addr: addr, Port: port, dir: dir, conf: filepath.Join(dir, "knot.conf"), knotc: knotc, t: t}
	var zs strings.Builder
	for name, write := range zones {
		f, err := os.Create(s.zoneFile(name))
		if err != nil {
			t.Fatal(err)
		}
		err = write(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&zs, "  - domain: %s\n", name)
		if policy != nil && policy(name) != "" {
			fmt.Fprintf(&zs, "    dnssec-signing: on\n    dnssec-policy: %s\n", policy(name))
		}
	}
	conf := fmt.Sprintf(`server:
    listen: %s@%d
    rundir: %s
    udp-workers: 2
    tcp-workers: 2
    background-workers: 1
control:
    listen: %s
database:
    storage: %s
policy:
  - id: optout
    algorithm: ecdsap256sha256
    nsec3: on
    nsec3-opt-out: on
    nsec3-iterations: 0
    nsec3-salt-length: 0
  - id: child
    algorithm: ecdsap256sha256
template:
  - id: default
    storage: %s
    file: %%s.zone
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    semantic-checks: off
log:
  - target: stderr
    any: warning
zone:
%s`, addr, port, dir, filepath.Join(dir, "knot.sock"), dir, dir, zs.String())
	if err := os.WriteFile(s.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	s.cmd = exec.Command(knotd, "-c", s.conf)
	s.cmd.Stderr = &stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("knotd: %v", err)
	}
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			s.cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(5 * time.Minute) // a zone of millions of delegations takes a while
	for name := range zones {
		for {
			if _, err := s.Serial(name); err == nil {
				break
			}
			select {
			case <-done:
				t.Fatalf("knotd exited: %s", stderr.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("knotd does not serve %s: %s", name, stderr.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return s
}

func (s *Server) zoneFile(name string) string {
	return filepath.Join(s.dir, strings.TrimSuffix(name, ".")+".zone")
}

// Serial asks the server for the SOA serial of zone.
func (s *Server) Serial(zone string) (uint32, error) {
	m := new(dns.Msg)
	m.SetQuestion(zone, dns.TypeSOA)
	m.RecursionDesired = false
	c := &dns.Client{Timeout: time.Second}
	r, _, err := c.Exchange(m, s.HostPort())
	if err != nil {
		return 0, err
	}
	for _, rr := range r.Answer {
		if soa, ok := rr.(*dns.SOA); ok {
			return soa.Serial, nil
		}
	}
	return 0, fmt.Errorf("no SOA for %s (rcode %s)", zone, dns.RcodeToString[r.Rcode])
}

// Replace writes a new version of zone (its SOA serial must be higher),
// reloads it with knotc, and waits until the server serves it.
func (s *Server) Replace(zone string, text []byte, serial uint32) {
	t := s.t
	t.Helper()
	if err := os.WriteFile(s.zoneFile(zone), text, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, s.knotc, "-c", s.conf, "zone-reload", zone).CombinedOutput()
	if err != nil {
		t.Fatalf("knotc zone-reload %s: %v: %s", zone, err, out)
	}
	for {
		if got, err := s.Serial(zone); err == nil && got == serial {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("knotd did not load serial %d of %s", serial, zone)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// CPUTime is the processor time knotd has used so far (user + system).
func (s *Server) CPUTime() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) start at ')'.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	var ut, st int64
	fmt.Sscan(f[11], &ut)
	fmt.Sscan(f[12], &st)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}
