package knottest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
)

// A Delegation is one domain as the registry serves it.
type Delegation struct {
	Name string   // "d1.alpha."
	NS   []string // fully qualified
	DS   string   // "keytag alg digesttype digest", optional
}

func soa(w io.Writer, zone string, serial uint32) {
	fmt.Fprintf(w, "$TTL 3600\n%s 3600 IN SOA ns.%s hostmaster.%s %d 3600 600 86400 300\n", zone, zone, zone, serial)
	fmt.Fprintf(w, "%s 3600 IN NS ns.%s\nns.%s 3600 IN A 127.0.0.1\n", zone, zone, zone)
}

// WriteParentZone writes a TLD zone: the delegations, and glue (host name
// -> addresses) for name servers under the zone.
func WriteParentZone(w io.Writer, zone string, serial uint32, dels []Delegation, glue map[string][]string) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	soa(bw, zone, serial)
	for host, addrs := range glue {
		for _, a := range addrs {
			typ := "A"
			if bytes.IndexByte([]byte(a), ':') >= 0 {
				typ = "AAAA"
			}
			fmt.Fprintf(bw, "%s 3600 IN %s %s\n", host, typ, a)
		}
	}
	for _, d := range dels {
		for _, ns := range d.NS {
			bw.WriteString(d.Name)
			bw.WriteString(" 86400 IN NS ")
			bw.WriteString(ns)
			bw.WriteByte('\n')
		}
		if d.DS != "" {
			fmt.Fprintf(bw, "%s 86400 IN DS %s\n", d.Name, d.DS)
		}
	}
	return bw.Flush()
}

// ParentZone is WriteParentZone into memory.
func ParentZone(zone string, serial uint32, dels []Delegation, glue map[string][]string) []byte {
	var b bytes.Buffer
	WriteParentZone(&b, zone, serial, dels, glue)
	return b.Bytes()
}

// Records are what a domain's own servers serve for it.
type Records struct {
	A     string // an IPv4 address
	AAAA  string
	MX    string // "10 mx.example."
	SPF   string // TXT text, e.g. v=spf1 mx -all
	DMARC string // TXT text at _dmarc
	CAA   string // "0 issue \"letsencrypt.org\""
}

// WriteChildZone writes the zone a domain's servers serve, for many
// domains at once: the zone is the TLD itself (not delegated on this
// server), so the server answers with authority for every name below it,
// as each domain's own server would.
func WriteChildZone(w io.Writer, zone string, serial uint32, names []string, rec func(name string) Records) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	soa(bw, zone, serial)
	for _, n := range names {
		r := rec(n)
		if r.A != "" {
			fmt.Fprintf(bw, "%s 300 IN A %s\n", n, r.A)
		}
		if r.AAAA != "" {
			fmt.Fprintf(bw, "%s 300 IN AAAA %s\n", n, r.AAAA)
		}
		if r.MX != "" {
			fmt.Fprintf(bw, "%s 300 IN MX %s\n", n, r.MX)
		}
		if r.SPF != "" {
			fmt.Fprintf(bw, "%s 300 IN TXT %q\n", n, r.SPF)
		}
		if r.DMARC != "" {
			fmt.Fprintf(bw, "_dmarc.%s 300 IN TXT %q\n", n, r.DMARC)
		}
		if r.CAA != "" {
			fmt.Fprintf(bw, "%s 300 IN CAA %s\n", n, r.CAA)
		}
	}
	return bw.Flush()
}

// ChildZone is WriteChildZone into memory.
func ChildZone(zone string, serial uint32, names []string, rec func(name string) Records) []byte {
	var b bytes.Buffer
	WriteChildZone(&b, zone, serial, names, rec)
	return b.Bytes()
}
