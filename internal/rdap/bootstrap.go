// Package rdap reads a domain's registration from its registry's RDAP
// server (RFC 9082 queries, RFC 9083 answers): status codes, expiry,
// registrar and name servers as the registry's database holds them. The
// server of each TLD comes from IANA's bootstrap file (RFC 9224), shipped
// in the binary and replaced with `vigie dns update-rdap-bootstrap`.
package rdap

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// embedded is IANA's https://data.iana.org/rdap/dns.json as of its
// publication date inside; newer copies replace it in the data directory.
//
//go:embed dns.json
var embedded []byte

// Bootstrap maps TLDs (and other suffixes) to RDAP base URLs.
type Bootstrap struct {
	Publication time.Time
	Description string
	services    map[string][]string // lower-case suffix without dots at the ends -> base URLs, https first
}

type bootstrapFile struct {
	Version     string       `json:"version"`
	Publication string       `json:"publication"`
	Description string       `json:"description"`
	Services    [][][]string `json:"services"`
}

// ParseBootstrap reads an RFC 9224 bootstrap file and checks it: a
// publication date, at least one service, every URL absolute http(s).
func ParseBootstrap(b []byte) (*Bootstrap, error) {
	var f bootstrapFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("rdap bootstrap: %w", err)
	}
	pub, err := time.Parse(time.RFC3339, f.Publication)
	if err != nil {
		return nil, fmt.Errorf("rdap bootstrap: publication %q is not an RFC 3339 date", f.Publication)
	}
	bs := &Bootstrap{Publication: pub, Description: f.Description, services: map[string][]string{}}
	for i, svc := range f.Services {
		if len(svc) != 2 {
			return nil, fmt.Errorf("rdap bootstrap: service %d has %d parts, want 2 (entries, URLs)", i+1, len(svc))
		}
		var urls []string
		for _, u := range svc[1] {
			pu, err := url.Parse(u)
			if err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
				return nil, fmt.Errorf("rdap bootstrap: service %d: %q is not an http(s) URL", i+1, u)
			}
			if !strings.HasSuffix(u, "/") {
				u += "/"
			}
			urls = append(urls, u)
		}
		// RFC 9224 section 3: prefer https
		sort.SliceStable(urls, func(a, b int) bool {
			return strings.HasPrefix(urls[a], "https:") && !strings.HasPrefix(urls[b], "https:")
		})
		if len(urls) == 0 {
			continue
		}
		for _, e := range svc[0] {
			e = strings.Trim(strings.ToLower(e), ".")
			if e == "" {
				continue
			}
			bs.services[e] = urls
		}
	}
	if len(bs.services) == 0 {
		return nil, errors.New("rdap bootstrap: no service")
	}
	return bs, nil
}

// Embedded is the bootstrap file shipped in the binary.
func Embedded() *Bootstrap {
	b, err := ParseBootstrap(embedded)
	if err != nil {
		panic("the embedded RDAP bootstrap file does not parse: " + err.Error())
	}
	return b
}

// Servers returns the RDAP base URLs for domain: those of the longest
// suffix of its labels the bootstrap lists (RFC 9224 section 4), nil
// when none does.
func (b *Bootstrap) Servers(domain string) []string {
	d := strings.Trim(strings.ToLower(domain), ".")
	for {
		if urls, ok := b.services[d]; ok {
			return urls
		}
		i := strings.IndexByte(d, '.')
		if i < 0 {
			return nil
		}
		d = d[i+1:]
	}
}

// Entries is how many suffixes the bootstrap maps.
func (b *Bootstrap) Entries() int { return len(b.services) }

// BootstrapPath is where an updated bootstrap file lives in a data
// directory.
func BootstrapPath(dataDir string) string { return filepath.Join(dataDir, "rdap-dns.json") }

// Load returns the bootstrap in use: the data directory's copy when it
// parses and is not older than the embedded one, else the embedded one.
func Load(dataDir string) (*Bootstrap, error) {
	emb := Embedded()
	if dataDir == "" {
		return emb, nil
	}
	b, err := os.ReadFile(BootstrapPath(dataDir))
	if errors.Is(err, os.ErrNotExist) {
		return emb, nil
	}
	if err != nil {
		return emb, err
	}
	bs, err := ParseBootstrap(b)
	if err != nil {
		return emb, fmt.Errorf("%s: %w (using the embedded file of %s)", BootstrapPath(dataDir), err, emb.Publication.Format("2006-01-02"))
	}
	if bs.Publication.Before(emb.Publication) {
		return emb, nil
	}
	return bs, nil
}

// Install checks a bootstrap file and writes it into the data directory
// (atomically), refusing one older than the one in use.
func Install(dataDir string, b []byte) (*Bootstrap, error) {
	bs, err := ParseBootstrap(b)
	if err != nil {
		return nil, err
	}
	cur, _ := Load(dataDir)
	if cur != nil && bs.Publication.Before(cur.Publication) {
		return nil, fmt.Errorf("rdap bootstrap: published %s, older than the one in use (%s)",
			bs.Publication.Format(time.RFC3339), cur.Publication.Format(time.RFC3339))
	}
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(dataDir, ".rdap-dns-*.json")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	return bs, os.Rename(tmp.Name(), BootstrapPath(dataDir))
}
