package knottest

import (
	"fmt"
	"sort"
	"strings"
	"testing"
)

// Lab is a small Internet on loopback: a registry (knotd) serving TLD
// zones of delegations, the hoster's name servers (knotd) serving the
// domains, and a rogue server (knotd) answering for them with an
// attacker's records, as in the 2017 registrar hijack. All three listen
// on the same port, on three addresses of one random 127.A.B.0/24.
type Lab struct {
	TLDs     []string
	Domains  []string // all, sorted
	Registry *Server
	Child    *Server
	Rogue    *Server
	// Hijacked domains are delegated to RogueNS at the next Publish.
	Hijacked map[string]bool
	serial   uint32
}

// RogueNS is the attacker's NS set, the same for every TLD.
var RogueNS = []string{"ns1.rogue.delta.", "ns2.rogue.delta."}

// LegitNS is the hoster's NS set for domains under tld.
func LegitNS(tld string) []string { return []string{"ns1.hoster." + tld, "ns2.hoster." + tld} }

// LegitRecords are the hoster's records for every domain.
func LegitRecords(string) Records {
	return Records{A: "192.0.2.10", MX: "10 mx.hoster.net.", SPF: "v=spf1 mx -all",
		DMARC: "v=DMARC1; p=reject", CAA: `0 issue "letsencrypt.org"`}
}

// RogueRecords are what the rogue server answers: an exploit kit's
// address, the attacker's MX and SPF, no DMARC, the same CAA.
func RogueRecords(string) Records {
	return Records{A: "203.0.113.66", MX: "10 mx.rogue.delta.", SPF: "v=spf1 +all", CAA: `0 issue "letsencrypt.org"`}
}

// NewLab starts the three servers with perTLD domains d0.TLD... under
// each TLD (which must include "delta.", where the rogue NS live).
func NewLab(t testing.TB, tlds []string, perTLD int) *Lab {
	t.Helper()
	addrs := LoopbackBlock()
	port := FreePortOn(t, addrs[:]...)
	l := &Lab{TLDs: tlds, serial: 1, Hijacked: map[string]bool{}}
	byTLD := map[string][]string{}
	for _, tld := range tlds {
		for i := 0; i < perTLD; i++ {
			n := fmt.Sprintf("d%d.%s", i, tld)
			byTLD[tld] = append(byTLD[tld], n)
			l.Domains = append(l.Domains, n)
		}
	}
	sort.Strings(l.Domains)
	child, rogue := map[string][]byte{}, map[string][]byte{}
	for _, tld := range tlds {
		child[tld] = ChildZone(tld, 1, byTLD[tld], LegitRecords)
		rogue[tld] = ChildZone(tld, 1, byTLD[tld], RogueRecords)
	}
	l.Child = Start(t, addrs[1], port, child)
	l.Rogue = Start(t, addrs[2], port, rogue)
	l.Registry = Start(t, addrs[0], port, l.parentZones())
	return l
}

func (l *Lab) parentZones() map[string][]byte {
	out := map[string][]byte{}
	for _, tld := range l.TLDs {
		var dels []Delegation
		for _, n := range l.Domains {
			if !strings.HasSuffix(n, "."+tld) {
				continue
			}
			ns := LegitNS(tld)
			if l.Hijacked[n] {
				ns = RogueNS
			}
			dels = append(dels, Delegation{Name: n, NS: ns})
		}
		glue := map[string][]string{"ns1.hoster." + tld: {l.Child.Addr}, "ns2.hoster." + tld: {l.Child.Addr}}
		dels = append(dels, Delegation{Name: "hoster." + tld, NS: LegitNS(tld)})
		if tld == "delta." {
			glue["ns1.rogue.delta."] = []string{l.Rogue.Addr}
			glue["ns2.rogue.delta."] = []string{l.Rogue.Addr}
			dels = append(dels, Delegation{Name: "rogue.delta.", NS: RogueNS})
		}
		out[tld] = ParentZone(tld, l.serial, dels, glue)
	}
	return out
}

// Publish loads the registry's current state (Hijacked) on its server.
func (l *Lab) Publish() {
	l.serial++
	for tld, text := range l.parentZones() {
		l.Registry.Replace(tld, text, l.serial)
	}
}

// Parents maps every TLD to the registry server.
func (l *Lab) Parents() map[string][]string {
	out := map[string][]string{}
	for _, tld := range l.TLDs {
		out[tld] = []string{l.Registry.HostPort()}
	}
	return out
}

// Port is the port all three servers listen on (the child port).
func (l *Lab) Port() int { return l.Registry.Port }
