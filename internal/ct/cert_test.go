package ct

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
)

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newTestCA(t testing.TB, org string) *testCA {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{Organization: []string{org}, CommonName: org + " CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour * 24 * 365), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &testCA{c, k}
}

var notBefore = time.Date(2026, 11, 20, 10, 4, 0, 0, time.UTC)

// issue returns a certificate; poison makes it a precertificate, sct
// gives it an SCT list extension.
func (ca *testCA) issue(t testing.TB, cn string, sans []string, serial int64, poison, sct bool) []byte {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn}, DNSNames: sans,
		NotBefore: notBefore, NotAfter: notBefore.Add(90 * 24 * time.Hour)}
	if poison {
		tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 3}, Critical: true, Value: []byte{5, 0}})
	}
	if sct {
		tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 2}, Value: []byte{4, 2, 0, 0}})
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &ca.key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func x509Leaf(der []byte) []byte {
	b := cryptobyte.NewBuilder([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0})
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(der) })
	b.AddUint16(0)
	return b.BytesOrPanic()
}

func precertLeaf(tbs []byte, ikh [32]byte) []byte {
	b := cryptobyte.NewBuilder([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1})
	b.AddBytes(ikh[:])
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(tbs) })
	b.AddUint16(0)
	return b.BytesOrPanic()
}

func TestMatchEntryCertAndPrecert(t *testing.T) {
	ca := newTestCA(t, "Let's Encrypt")
	wl := BuildWatchlist([]WatchEntry{{Domain: "example.com", Apex: true, Subdomains: true}})
	pre := ca.issue(t, "www.example.com", []string{"www.example.com", "other.net"}, 7, true, false)
	final := ca.issue(t, "www.example.com", []string{"www.example.com", "other.net"}, 7, false, true)
	tbs, err := PrecertTBS(pre)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := ParseLeafInput(precertLeaf(tbs, sha256.Sum256(ca.cert.RawSubjectPublicKeyInfo)), nil)
	if err != nil {
		t.Fatal(err)
	}
	ef, err := ParseLeafInput(x509Leaf(final), nil)
	if err != nil {
		t.Fatal(err)
	}
	mp, ok1, _, err1 := matchEntry(wl, &ep, nil)
	mf, ok2, _, err2 := matchEntry(wl, &ef, nil)
	if !ok1 || !ok2 || err1 != nil || err2 != nil {
		t.Fatalf("no match: %v %v %v %v", ok1, ok2, err1, err2)
	}
	if mp.Info.TBSHash != mf.Info.TBSHash {
		t.Error("precertificate and certificate have different TBS hashes: they would be two findings")
	}
	if mf.SHA256 != sha256.Sum256(final) {
		t.Error("fingerprint is not the certificate's SHA-256")
	}
	if got := strings.Join(mf.Info.Names, ","); got != "www.example.com,other.net" {
		t.Errorf("names %q", got)
	}
	if mf.Info.Serial != "07" || !mf.Info.NotBefore.Equal(notBefore) || !strings.Contains(mf.Info.Issuer, "Let's Encrypt") {
		t.Errorf("info %+v", mf.Info)
	}
	// Another certificate for the same names is another finding.
	other := ca.issue(t, "www.example.com", []string{"www.example.com", "other.net"}, 8, false, true)
	eo, _ := ParseLeafInput(x509Leaf(other), nil)
	mo, _, _, _ := matchEntry(wl, &eo, nil)
	if mo.Info.TBSHash == mf.Info.TBSHash {
		t.Error("two certificates share a TBS hash")
	}
}

func TestMatchEntryNames(t *testing.T) {
	ca := newTestCA(t, "Test CA")
	wl := BuildWatchlist([]WatchEntry{{Domain: "example.com", Apex: true, Subdomains: true}})
	many := make([]string, 5000)
	for i := range many {
		many[i] = fmt.Sprintf("host%d.unwatched.net", i)
	}
	tests := []struct {
		name  string
		cn    string
		sans  []string
		match bool
	}{
		{"CN only", "example.com", nil, true},
		{"SAN only", "", []string{"a.example.com"}, true},
		{"unwatched", "x.org", []string{"y.org"}, false},
		{"html in CN", "<img src=x onerror=alert(1)>.example.com", nil, true},
		{"control chars", "a\x01\x7f.example.com", nil, true},
		{"huge, match last", "", append(append([]string{}, many...), "z.example.com"), true},
		{"huge, no match", "", many, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			der := ca.issue(t, tt.cn, tt.sans, 9, false, false)
			e, err := ParseLeafInput(x509Leaf(der), nil)
			if err != nil {
				t.Fatal(err)
			}
			_, ok, _, err := matchEntry(wl, &e, nil)
			if err != nil || ok != tt.match {
				t.Errorf("match %v err %v, want %v", ok, err, tt.match)
			}
		})
	}
}

func TestMalformedEntries(t *testing.T) {
	wl := BuildWatchlist([]WatchEntry{{Domain: "example.com", Apex: true, Subdomains: true}})
	for _, leaf := range [][]byte{
		nil,
		{0, 0},
		x509Leaf([]byte("garbage DER, not a certificate")),
		x509Leaf([]byte{0x30, 0x82, 0xff, 0xff, 0x01}),
		precertLeaf([]byte{0x30, 0x03, 0x02, 0x01, 0x01}, [32]byte{}),
		append(x509Leaf([]byte{0x30, 0x00}), 0xde, 0xad),
	} {
		e, err := ParseLeafInput(leaf, nil)
		if err == nil {
			_, ok, _, err := matchEntry(wl, &e, nil)
			if err == nil || ok {
				t.Errorf("leaf %x: matched %v without error", leaf, ok)
			}
		}
	}
}
