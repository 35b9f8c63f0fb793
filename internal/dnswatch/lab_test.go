package dnswatch

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/vigie/vigie/internal/dnswatch/knottest"
)

// lab is a small Internet on loopback: a registry (knotd) serving TLD
// zones of delegations, the hoster's name servers (knotd) serving the
// domains, and a rogue server (knotd) answering for them with an
// attacker's records, as in the 2017 registrar hijack.
type lab struct {
	tlds           []string
	domains        []string // all, sorted
	registry       *knottest.Server
	child, rogue   *knottest.Server
	childAddr      string
	rogueAddr      string
	serial         uint32
	hijacked       map[string]bool
	legitNS, rogNS func(tld string) []string
}

var rogueNS = []string{"ns1.rogue.delta.", "ns2.rogue.delta."}

func legitNS(tld string) []string { return []string{"ns1.hoster." + tld, "ns2.hoster." + tld} }

func legitRecords(name string) knottest.Records {
	return knottest.Records{A: "192.0.2.10", MX: "10 mx.hoster.net.", SPF: "v=spf1 mx -all",
		DMARC: "v=DMARC1; p=reject", CAA: `0 issue "letsencrypt.org"`}
}

func rogueRecords(name string) knottest.Records {
	return knottest.Records{A: "203.0.113.66", MX: "10 mx.rogue.delta.", SPF: "v=spf1 +all", CAA: `0 issue "letsencrypt.org"`}
}

func newLab(t testing.TB, tlds []string, perTLD int) *lab {
	addrs := knottest.LoopbackBlock()
	port := knottest.FreePortOn(t, addrs[:]...)
	l := &lab{tlds: tlds, childAddr: addrs[1], rogueAddr: addrs[2], serial: 1, hijacked: map[string]bool{}}
	byTLD := map[string][]string{}
	for _, tld := range tlds {
		for i := 0; i < perTLD; i++ {
			n := fmt.Sprintf("d%d.%s", i, tld)
			byTLD[tld] = append(byTLD[tld], n)
			l.domains = append(l.domains, n)
		}
	}
	sort.Strings(l.domains)
	child, rogue := map[string][]byte{}, map[string][]byte{}
	for _, tld := range tlds {
		child[tld] = knottest.ChildZone(tld, 1, byTLD[tld], legitRecords)
		rogue[tld] = knottest.ChildZone(tld, 1, byTLD[tld], rogueRecords)
	}
	l.child = knottest.Start(t, l.childAddr, port, child)
	l.rogue = knottest.Start(t, l.rogueAddr, port, rogue)
	l.registry = knottest.Start(t, addrs[0], port, l.parentZones())
	return l
}

func (l *lab) parentZones() map[string][]byte {
	out := map[string][]byte{}
	for _, tld := range l.tlds {
		var dels []knottest.Delegation
		for _, n := range l.domains {
			if !strings.HasSuffix(n, "."+tld) {
				continue
			}
			ns := legitNS(tld)
			if l.hijacked[n] {
				ns = rogueNS
			}
			dels = append(dels, knottest.Delegation{Name: n, NS: ns})
		}
		glue := map[string][]string{"ns1.hoster." + tld: {l.childAddr}, "ns2.hoster." + tld: {l.childAddr}}
		dels = append(dels, knottest.Delegation{Name: "hoster." + tld, NS: legitNS(tld)})
		if tld == "delta." {
			glue["ns1.rogue.delta."] = []string{l.rogueAddr}
			glue["ns2.rogue.delta."] = []string{l.rogueAddr}
			dels = append(dels, knottest.Delegation{Name: "rogue.delta.", NS: rogueNS})
		}
		out[tld] = knottest.ParentZone(tld, l.serial, dels, glue)
	}
	return out
}

// publish loads the registry's current state on its server.
func (l *lab) publish() {
	l.serial++
	for tld, text := range l.parentZones() {
		l.registry.Replace(tld, text, l.serial)
	}
}

func (l *lab) parents() map[string][]string {
	out := map[string][]string{}
	for _, tld := range l.tlds {
		out[tld] = []string{l.registry.HostPort()}
	}
	return out
}
