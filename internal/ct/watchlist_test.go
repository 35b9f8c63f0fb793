package ct

import (
	"strings"
	"testing"
)

func TestWatchlistMatch(t *testing.T) {
	var entries []WatchEntry
	for _, s := range []string{"example.com", "=exact.org", "*.subs.net", "Bücher.example", "deep.a.example.com", "fr."} {
		e, err := ParseWatchEntry(s)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, e)
	}
	wl := BuildWatchlist(entries)
	tests := []struct {
		name, want string // want "" for no match
	}{
		{"example.com", "example.com"},
		{"WWW.Example.COM.", "example.com"},
		{"*.example.com", "example.com"},
		{"x.deep.a.example.com", "deep.a.example.com"}, // the longest suffix
		{"notexample.com", ""},
		{"example.com.evil.net", ""},
		{"exact.org", "exact.org"},
		{"www.exact.org", ""},
		{"*.exact.org", ""},
		{"subs.net", ""},
		{"a.subs.net", "subs.net"},
		{"*.subs.net", "subs.net"},
		{"xn--bcher-kva.example", "xn--bcher-kva.example"},
		{"shop.bücher.example", "xn--bcher-kva.example"},
		{"anything.fr", "fr"},
		{"", ""},
		{"<script>.example.com", "example.com"},
		{"\x00.example.com", "example.com"},
		{"com", ""},
		{"*.org", "exact.org"}, // covers exact.org, watched by name
		{"*.a.example.com", "example.com"},
		{"*.net", ""}, // subs.net is watched for its subdomains only
	}
	for _, tt := range tests {
		m, ok := wl.Match(tt.name)
		got := ""
		if ok {
			got = m.Domain
		}
		if got != tt.want {
			t.Errorf("Match(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestParseWatchEntryRejects(t *testing.T) {
	for _, s := range []string{"", "  ", "*", "a.*.b", strings.Repeat("a", 300) + ".com"} {
		if _, err := ParseWatchEntry(s); err == nil {
			t.Errorf("ParseWatchEntry(%q) accepted", s)
		}
	}
}

func TestReadWatchlist(t *testing.T) {
	in := `# inventory from the DNS watch
example.com ns1.example.net,ns2.example.net
other.fr   issuers=letsencrypt.org,digicert.com

bad..name..* 
=only.example   # exact
`
	entries, bad, err := ReadWatchlist(strings.NewReader(in), "list")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 || len(bad) != 1 {
		t.Fatalf("entries %+v, bad %v", entries, bad)
	}
	if !strings.HasPrefix(bad[0].Error(), "list:5:") {
		t.Errorf("bad line error %q", bad[0])
	}
	if entries[0].Domain != "example.com" || entries[1].Domain != "other.fr" || strings.Join(entries[1].Issuers, " ") != "digicert.com letsencrypt.org" {
		t.Errorf("entries %+v", entries)
	}
	if entries[2].Subdomains || !entries[2].Apex {
		t.Errorf("=only.example: %+v", entries[2])
	}
	wl := BuildWatchlist(entries)
	if m, ok := wl.Match("www.other.fr"); !ok || len(m.Issuers) != 2 {
		t.Errorf("issuers not kept: %+v", m)
	}
}

func TestIssuerExpected(t *testing.T) {
	tests := []struct {
		org      string
		expected []string
		want     bool
	}{
		{"Let's Encrypt R10", []string{"letsencrypt.org"}, true},
		{"DigiCert Inc DigiCert TLS RSA SHA256 2020 CA1", []string{"letsencrypt.org"}, false},
		{"DigiCert Inc X", []string{"letsencrypt.org", "digicert.com"}, true},
		{"Evil CA", []string{"evil"}, true},
		{"Evil CA", nil, false},
	}
	for _, tt := range tests {
		if got := IssuerExpected(tt.org, tt.expected); got != tt.want {
			t.Errorf("IssuerExpected(%q, %v) = %v", tt.org, tt.expected, got)
		}
	}
	if got := ExpectedIssuersFromCAA([]string{"letsencrypt.org; validationmethods=dns-01", " ", "Pki.goog"}); strings.Join(got, ",") != "letsencrypt.org,pki.goog" {
		t.Errorf("ExpectedIssuersFromCAA = %v", got)
	}
}
