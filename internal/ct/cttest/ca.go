// Package cttest holds what the CT watch's tests and benchmark share: a
// certificate authority that issues certificates and precertificates, and
// an RFC 6962 log server built on golang.org/x/mod/sumdb/tlog whose tree
// heads are really signed, so the watch verifies them as it would a
// public log's.
package cttest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"sync/atomic"
	"time"
)

// A CA issues test certificates.
type CA struct {
	Cert   *x509.Certificate
	DER    []byte
	Key    *ecdsa.PrivateKey
	leaf   *ecdsa.PrivateKey
	serial atomic.Int64
}

var (
	oidPoison  = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 3}
	oidSCTList = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 2}
)

// NewCA makes a root CA named org.
func NewCA(org string) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	leaf, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{Organization: []string{org}, CommonName: org + " Root"},
		NotBefore: now.Add(-24 * time.Hour), NotAfter: now.Add(10 * 365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	ca := &CA{Cert: c, DER: der, Key: key, leaf: leaf}
	ca.serial.Store(1000)
	return ca, nil
}

// PEM is the CA certificate in PEM, for a log's roots file.
func (ca *CA) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.DER})
}

// KeyHash is the issuer_key_hash of precertificates it issues.
func (ca *CA) KeyHash() [32]byte { return sha256.Sum256(ca.Cert.RawSubjectPublicKeyInfo) }

// A Pair is a precertificate and the final certificate issued from it.
type Pair struct {
	Precert, Cert []byte
}

// IssueCert returns only a final certificate (no precertificate was
// logged for it), which is quicker for the benchmark's filler.
func (ca *CA) IssueCert(names []string, notBefore time.Time) ([]byte, error) {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(ca.serial.Add(1)),
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     names,
		NotBefore:    notBefore, NotAfter: notBefore.Add(90 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	return x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &ca.leaf.PublicKey, ca.Key)
}

// Issue returns a precertificate and its final certificate for names
// (the first is also the common name), valid from notBefore for 90 days.
func (ca *CA) Issue(names []string, notBefore time.Time) (Pair, error) {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(ca.serial.Add(1)),
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     names,
		NotBefore:    notBefore, NotAfter: notBefore.Add(90 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	tmpl.ExtraExtensions = []pkix.Extension{{Id: oidPoison, Critical: true, Value: []byte{0x05, 0x00}}}
	pre, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &ca.leaf.PublicKey, ca.Key)
	if err != nil {
		return Pair{}, err
	}
	// The final certificate carries an SCT list where the poison was.
	tmpl.ExtraExtensions = []pkix.Extension{{Id: oidSCTList, Value: []byte{0x04, 0x02, 0x00, 0x00}}}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &ca.leaf.PublicKey, ca.Key)
	if err != nil {
		return Pair{}, err
	}
	return Pair{Precert: pre, Cert: cert}, nil
}
