package dnswatch

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"

	"github.com/miekg/dns"

	"github.com/vigie/vigie/internal/dnsname"
)

// An Entry is one line of the domain inventory (dnsname.Entry).
type Entry = dnsname.Entry

// InventoryStats says what a scan read.
type InventoryStats struct {
	Lines   int
	Domains int
	Bad     int
	// FirstErrors holds the first few bad lines' errors (file:line: why).
	FirstErrors []error
}

const maxReportedBadLines = 20

// ScanInventory reads an inventory one line at a time and calls fn for
// each domain, so a file of millions of lines is never held in memory.
// Lines are "domain" or "domain ns1,ns2[,...]"; blank lines and lines
// starting with # are skipped. A bad line is counted, kept in
// stats.FirstErrors (the first 20) and skipped; an error from fn or from
// reading stops the scan and is returned. name is used in messages.
//
// The CT watch reads the same inventory as its watchlist through this
// function.
func ScanInventory(r io.Reader, name string, fn func(Entry) error) (InventoryStats, error) {
	var st InventoryStats
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 64*1024)
	for sc.Scan() {
		st.Lines++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		e, err := ParseEntry(string(line))
		if err != nil {
			st.Bad++
			if len(st.FirstErrors) < maxReportedBadLines {
				st.FirstErrors = append(st.FirstErrors, fmt.Errorf("%s:%d: %w", name, st.Lines, err))
			}
			continue
		}
		st.Domains++
		if err := fn(e); err != nil {
			return st, err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return st, fmt.Errorf("%s:%d: line longer than 64 KiB: is this a domain list?", name, st.Lines+1)
		}
		return st, fmt.Errorf("%s: %w", name, err)
	}
	return st, nil
}

// LoadInventoryFile is ScanInventory on a file.
func LoadInventoryFile(path string, fn func(Entry) error) (InventoryStats, error) {
	f, err := os.Open(path)
	if err != nil {
		return InventoryStats{}, fmt.Errorf("domain inventory: %w", err)
	}
	defer f.Close()
	return ScanInventory(f, path, fn)
}

// ParseEntry parses one inventory line: "domain" or "domain ns1,ns2".
func ParseEntry(line string) (Entry, error) { return dnsname.ParseEntry(line) }

// CanonicalName returns name in lower case, fully qualified, or an error
// if it is not a host name in ASCII (IDNs are written in punycode).
func CanonicalName(name string) (string, error) { return dnsname.CanonicalName(name) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// Inventory is where the watched domains come from: lines given inline
// (the config's dns.domains) and a file (dns.domains_file), either or
// both.
type Inventory struct {
	Lines []string
	File  string
}

// Empty reports whether the inventory names no source at all.
func (inv Inventory) Empty() bool { return len(inv.Lines) == 0 && inv.File == "" }

// Scan streams every entry of the inventory to fn: the inline lines, then
// the file.
func (inv Inventory) Scan(fn func(Entry) error) (InventoryStats, error) {
	st, err := ScanInventory(strings.NewReader(strings.Join(inv.Lines, "\n")), "dns.domains", fn)
	if err != nil || inv.File == "" {
		return st, err
	}
	fst, err := LoadInventoryFile(inv.File, fn)
	st.Lines += fst.Lines
	st.Domains += fst.Domains
	st.Bad += fst.Bad
	for _, e := range fst.FirstErrors {
		if len(st.FirstErrors) < maxReportedBadLines {
			st.FirstErrors = append(st.FirstErrors, e)
		}
	}
	return st, err
}

// SystemResolver returns the first nameserver of /etc/resolv.conf as
// host:port, or "" when there is none.
func SystemResolver() string {
	cc, err := dns.ClientConfigFromFile("/etc/resolv.conf")
	if err != nil || len(cc.Servers) == 0 {
		return ""
	}
	return net.JoinHostPort(cc.Servers[0], cc.Port)
}
