package dnswatch

import "fmt"

// Kind is one thing compared per domain.
type Kind uint8

const (
	KindNS Kind = iota
	KindDS
	KindGlue
	KindA
	KindAAAA
	KindMX
	KindSPF
	KindDMARC
	KindCAA
	numKinds
)

var kindNames = [numKinds]string{"ns", "ds", "glue", "a", "aaaa", "mx", "spf", "dmarc", "caa"}

func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// ParseKind is the inverse of String.
func ParseKind(s string) (Kind, error) {
	for i, n := range kindNames {
		if n == s {
			return Kind(i), nil
		}
	}
	return 0, fmt.Errorf("unknown record kind %q (expected one of %v)", s, kindNames)
}

// Parent reports whether the kind is read from the parent (registry) side.
func (k Kind) Parent() bool { return k <= KindGlue }

// childKinds are asked of the domain's own servers, in this order.
var childKinds = []Kind{KindA, KindAAAA, KindMX, KindSPF, KindDMARC, KindCAA}

// AllKinds lists every kind, parent side first.
func AllKinds() []Kind {
	out := make([]Kind, numKinds)
	for i := range out {
		out[i] = Kind(i)
	}
	return out
}
