package ct

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// tbs holds the parts of a TBSCertificate vigie reads, as slices of the
// input: matching needs only the names, and the rest is decoded only for
// certificates that match.
type tbs struct {
	raw        []byte // the whole TBSCertificate, tag and length included
	serial     []byte
	issuer     []byte // Name, tag included
	validity   []byte // contents of the Validity SEQUENCE
	subject    []byte
	extensions []byte // contents of the Extensions SEQUENCE; nil if none
	extStart   int    // offset in raw of the [3] element, or len(raw)
}

var (
	oidSAN      = []byte{0x55, 0x1d, 0x11}
	oidCN       = []byte{0x55, 0x04, 0x03}
	oidPoison   = []byte{0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x04, 0x03}
	oidSCTList  = []byte{0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x04, 0x02}
	errNotACert = errors.New("malformed certificate")
)

// certTBS returns the TBSCertificate of a DER certificate.
func certTBS(der []byte) ([]byte, error) {
	s := cryptobyte.String(der)
	var cert cryptobyte.String
	if !s.ReadASN1(&cert, cbasn1.SEQUENCE) {
		return nil, fmt.Errorf("%w: not a SEQUENCE", errNotACert)
	}
	var raw cryptobyte.String
	if !cert.ReadASN1Element(&raw, cbasn1.SEQUENCE) {
		return nil, fmt.Errorf("%w: no TBSCertificate", errNotACert)
	}
	return raw, nil
}

// parseTBS splits a TBSCertificate without decoding more than it must.
func parseTBS(raw []byte) (tbs, error) {
	t := tbs{raw: raw}
	s := cryptobyte.String(raw)
	var body cryptobyte.String
	if !s.ReadASN1(&body, cbasn1.SEQUENCE) || !s.Empty() {
		return t, fmt.Errorf("%w: TBSCertificate is not one SEQUENCE", errNotACert)
	}
	hdr := len(raw) - len(body) - len(s) // length of the outer tag and length
	if !body.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return t, fmt.Errorf("%w: bad version", errNotACert)
	}
	var alg cryptobyte.String
	if !body.ReadASN1Element((*cryptobyte.String)(&t.serial), cbasn1.INTEGER) ||
		!body.ReadASN1Element(&alg, cbasn1.SEQUENCE) ||
		!body.ReadASN1Element((*cryptobyte.String)(&t.issuer), cbasn1.SEQUENCE) ||
		!body.ReadASN1((*cryptobyte.String)(&t.validity), cbasn1.SEQUENCE) ||
		!body.ReadASN1Element((*cryptobyte.String)(&t.subject), cbasn1.SEQUENCE) ||
		!body.SkipASN1(cbasn1.SEQUENCE) {
		return t, fmt.Errorf("%w: bad serial, algorithm, issuer, validity, subject or key", errNotACert)
	}
	if !body.SkipOptionalASN1(cbasn1.Tag(1).ContextSpecific()) || !body.SkipOptionalASN1(cbasn1.Tag(2).ContextSpecific()) {
		return t, fmt.Errorf("%w: bad unique identifiers", errNotACert)
	}
	t.extStart = len(raw)
	if len(body) > 0 {
		t.extStart = hdr + (len(raw) - hdr - len(s)) - len(body)
		var exts, seq cryptobyte.String
		if !body.ReadASN1(&exts, cbasn1.Tag(3).Constructed().ContextSpecific()) || !exts.ReadASN1(&seq, cbasn1.SEQUENCE) {
			return t, fmt.Errorf("%w: bad extensions", errNotACert)
		}
		t.extensions = seq
	}
	return t, nil
}

// eachExtension calls fn with each extension's OID and value.
func (t *tbs) eachExtension(fn func(oid, value, raw []byte) bool) error {
	s := cryptobyte.String(t.extensions)
	for !s.Empty() {
		var ext, raw cryptobyte.String
		if !s.ReadASN1Element(&raw, cbasn1.SEQUENCE) {
			return fmt.Errorf("%w: bad extension", errNotACert)
		}
		ext = raw
		var body, oid, val cryptobyte.String
		if !ext.ReadASN1(&body, cbasn1.SEQUENCE) || !body.ReadASN1(&oid, cbasn1.OBJECT_IDENTIFIER) ||
			!body.SkipOptionalASN1(cbasn1.BOOLEAN) || !body.ReadASN1(&val, cbasn1.OCTET_STRING) {
			return fmt.Errorf("%w: bad extension", errNotACert)
		}
		if !fn(oid, val, raw) {
			return nil
		}
	}
	return nil
}

// appendNames appends the DNS names of the certificate: the subject
// alternative names, then the subject common name when it is not one of
// them. Names are as the certificate has them; the matcher normalises.
func (t *tbs) appendNames(names []string) ([]string, error) {
	start := len(names)
	var sanErr error
	err := t.eachExtension(func(oid, val, _ []byte) bool {
		if !bytes.Equal(oid, oidSAN) {
			return true
		}
		s := cryptobyte.String(val)
		var seq cryptobyte.String
		if !s.ReadASN1(&seq, cbasn1.SEQUENCE) {
			sanErr = fmt.Errorf("%w: bad subjectAltName", errNotACert)
			return false
		}
		for !seq.Empty() {
			var v cryptobyte.String
			var tag cbasn1.Tag
			if !seq.ReadAnyASN1(&v, &tag) {
				sanErr = fmt.Errorf("%w: bad GeneralName", errNotACert)
				return false
			}
			if tag == cbasn1.Tag(2).ContextSpecific() { // dNSName
				names = append(names, string(v))
			}
		}
		return false
	})
	if err == nil {
		err = sanErr
	}
	if cn := commonName(t.subject); cn != "" {
		dup := false
		for _, n := range names[start:] {
			if strings.EqualFold(n, cn) {
				dup = true
				break
			}
		}
		if !dup {
			names = append(names, cn)
		}
	}
	return names, err
}

// commonName returns the last CN of a Name, decoded from the string types
// certificates use; "" when there is none or it cannot be read.
func commonName(name []byte) string {
	s := cryptobyte.String(name)
	var rdns cryptobyte.String
	if !s.ReadASN1(&rdns, cbasn1.SEQUENCE) {
		return ""
	}
	cn := ""
	for !rdns.Empty() {
		var set cryptobyte.String
		if !rdns.ReadASN1(&set, cbasn1.SET) {
			return cn
		}
		for !set.Empty() {
			var atv, oid, val cryptobyte.String
			var tag cbasn1.Tag
			if !set.ReadASN1(&atv, cbasn1.SEQUENCE) || !atv.ReadASN1(&oid, cbasn1.OBJECT_IDENTIFIER) || !atv.ReadAnyASN1(&val, &tag) {
				return cn
			}
			if bytes.Equal(oid, oidCN) {
				cn = decodeString(tag, val)
			}
		}
	}
	return cn
}

func decodeString(tag cbasn1.Tag, v []byte) string {
	switch tag {
	case cbasn1.Tag(30): // BMPString
		if len(v)%2 != 0 {
			return ""
		}
		u := make([]uint16, len(v)/2)
		for i := range u {
			u[i] = uint16(v[2*i])<<8 | uint16(v[2*i+1])
		}
		return string(utf16.Decode(u))
	case cbasn1.UTF8String, cbasn1.PrintableString, cbasn1.IA5String, cbasn1.T61String, cbasn1.Tag(26) /* VisibleString */ :
		return string(v)
	}
	return ""
}

// CertInfo is what a finding says about a certificate.
type CertInfo struct {
	Names     []string
	Issuer    string // the issuer's distinguished name, RFC 2253 style
	IssuerOrg string // its organization and common name, for matching expected CAs
	Serial    string // hex
	NotBefore time.Time
	NotAfter  time.Time
	// TBSHash identifies the certificate across its precertificate and
	// final forms: SHA-256 of the TBSCertificate without the poison and
	// SCT list extensions.
	TBSHash [32]byte
}

// certInfo decodes the details of a TBSCertificate that matched.
func (t *tbs) certInfo(names []string) CertInfo {
	ci := CertInfo{Names: names}
	var rdn pkix.RDNSequence
	if rest, err := asn1.Unmarshal(t.issuer, &rdn); err == nil && len(rest) == 0 {
		var n pkix.Name
		n.FillFromRDNSequence(&rdn)
		ci.Issuer = n.String()
		ci.IssuerOrg = strings.Join(append(append([]string{}, n.Organization...), n.CommonName), " ")
	}
	s := cryptobyte.String(t.serial)
	var serial cryptobyte.String
	if s.ReadASN1(&serial, cbasn1.INTEGER) {
		ci.Serial = fmt.Sprintf("%x", []byte(serial))
	}
	v := cryptobyte.String(t.validity)
	ci.NotBefore = readTime(&v)
	ci.NotAfter = readTime(&v)
	ci.TBSHash = t.canonicalHash()
	return ci
}

func readTime(s *cryptobyte.String) time.Time {
	var t time.Time
	switch {
	case s.PeekASN1Tag(cbasn1.UTCTime):
		if !s.ReadASN1UTCTime(&t) {
			s.SkipASN1(cbasn1.UTCTime)
		}
	case s.PeekASN1Tag(cbasn1.GeneralizedTime):
		if !s.ReadASN1GeneralizedTime(&t) {
			s.SkipASN1(cbasn1.GeneralizedTime)
		}
	}
	return t
}

// canonicalHash is the SHA-256 of the TBSCertificate re-encoded without
// the poison and SCT list extensions: the same for a precertificate (as
// the log stores it, poison removed) and for the final certificate.
func (t *tbs) canonicalHash() [32]byte {
	return sha256.Sum256(t.stripped())
}

// stripped re-encodes the TBSCertificate without the poison and SCT list
// extensions.
func (t *tbs) stripped() []byte {
	if t.extensions == nil {
		return t.raw
	}
	s := cryptobyte.String(t.raw)
	var body cryptobyte.String
	s.ReadASN1(&body, cbasn1.SEQUENCE)
	before := body[:len(body)-(len(t.raw)-t.extStart)]
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(before)
		var kept [][]byte
		t.eachExtension(func(oid, _, raw []byte) bool {
			if !bytes.Equal(oid, oidPoison) && !bytes.Equal(oid, oidSCTList) {
				kept = append(kept, raw)
			}
			return true
		})
		if len(kept) == 0 {
			return
		}
		b.AddASN1(cbasn1.Tag(3).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				for _, k := range kept {
					b.AddBytes(k)
				}
			})
		})
	})
	out, err := b.Bytes()
	if err != nil {
		return t.raw
	}
	return out
}

// PrecertTBS returns the TBSCertificate a log stores for a
// precertificate: the precertificate's, without its poison extension.
func PrecertTBS(precert []byte) ([]byte, error) {
	raw, err := certTBS(precert)
	if err != nil {
		return nil, err
	}
	t, err := parseTBS(raw)
	if err != nil {
		return nil, err
	}
	return t.stripped(), nil
}
