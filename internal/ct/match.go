package ct

import (
	"crypto/sha256"
	"strings"
)

// A CertMatch is a certificate (or precertificate) with names a watched
// domain covers.
type CertMatch struct {
	Log       string
	Index     int64
	Timestamp uint64 // the log's timestamp, milliseconds
	Precert   bool
	Info      CertInfo
	Matches   []Match
	// SHA256 is the fingerprint of the certificate, or of the
	// precertificate when the log gave it (of its TBSCertificate if not).
	SHA256 [32]byte
}

// matchEntry parses one entry and matches its names. names is scratch
// space, reused between calls so that the common case (no match)
// allocates nothing but the names themselves.
func matchEntry(wl *Watchlist, e *Entry, names []string) (CertMatch, bool, []string, error) {
	names = names[:0]
	if e.parseErr != nil {
		return CertMatch{}, false, names, e.parseErr
	}
	raw := e.Cert
	if !e.Precert {
		var err error
		if raw, err = certTBS(e.Cert); err != nil {
			return CertMatch{}, false, names, err
		}
	}
	t, err := parseTBS(raw)
	if err != nil {
		return CertMatch{}, false, names, err
	}
	names, nerr := t.appendNames(names)
	var matches []Match
	for _, n := range names {
		if m, ok := wl.Match(n); ok {
			matches = append(matches, m)
		}
	}
	if len(matches) == 0 {
		return CertMatch{}, false, names, nerr
	}
	cm := CertMatch{Index: e.Index, Timestamp: e.Timestamp, Precert: e.Precert, Matches: matches,
		Info: t.certInfo(append([]string(nil), names...))}
	switch {
	case !e.Precert:
		cm.SHA256 = sha256.Sum256(e.Cert)
	case len(e.PreCert) > 0:
		cm.SHA256 = sha256.Sum256(e.PreCert)
	default:
		cm.SHA256 = sha256.Sum256(e.Cert)
	}
	return cm, true, names, nil
}

// caaNames maps CAA issuer domains to words found in their certificates'
// issuer organization or common name, so that expected issuers can be
// written as in a CAA record.
var caaNames = map[string][]string{
	"letsencrypt.org": {"let's encrypt", "isrg"},
	"digicert.com":    {"digicert", "geotrust", "rapidssl", "thawte"},
	"sectigo.com":     {"sectigo", "comodo", "usertrust"},
	"comodoca.com":    {"sectigo", "comodo", "usertrust"},
	"pki.goog":        {"google trust services"},
	"globalsign.com":  {"globalsign"},
	"amazon.com":      {"amazon"},
	"amazontrust.com": {"amazon"},
	"awstrust.com":    {"amazon"},
	"amazonaws.com":   {"amazon"},
	"zerossl.com":     {"zerossl"},
	"buypass.com":     {"buypass"},
	"buypass.no":      {"buypass"},
	"ssl.com":         {"ssl.com", "ssl corporation"},
	"entrust.net":     {"entrust"},
	"harica.gr":       {"harica", "hellenic academic"},
	"certum.pl":       {"certum", "asseco", "unizeto"},
	"godaddy.com":     {"godaddy", "starfield"},
	"actalis.it":      {"actalis"},
	"certigna.fr":     {"certigna", "dhimyotis"},
}

// IssuerExpected reports whether the issuer (organization and common name)
// is one of the expected CAs: CAA domains through caaNames, anything else
// as a case-insensitive substring.
func IssuerExpected(issuerOrg string, expected []string) bool {
	org := strings.ToLower(issuerOrg)
	for _, e := range expected {
		e = strings.ToLower(strings.TrimSpace(e))
		if e == "" {
			continue
		}
		if words, ok := caaNames[e]; ok {
			for _, w := range words {
				if strings.Contains(org, w) {
					return true
				}
			}
			continue
		}
		if strings.Contains(org, e) {
			return true
		}
	}
	return false
}

// ExpectedIssuersFromCAA turns CAA "issue"/"issuewild" values (such as
// `letsencrypt.org; validationmethods=dns-01`) into expected issuers.
func ExpectedIssuersFromCAA(values []string) []string {
	var out []string
	for _, v := range values {
		d, _, _ := strings.Cut(v, ";")
		if d = strings.ToLower(strings.TrimSpace(d)); d != "" {
			out = append(out, d)
		}
	}
	return out
}
