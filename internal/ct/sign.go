package ct

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/mod/sumdb/tlog"
)

// A Head is a signed tree head (RFC 6962) or checkpoint (static-ct-api)
// whose signature was verified.
type Head struct {
	Size      int64     `json:"size"`
	Root      tlog.Hash `json:"root"`
	Timestamp uint64    `json:"timestamp"` // milliseconds
}

// LogKey is a log's public key and the log ID derived from it.
type LogKey struct {
	Key crypto.PublicKey
	ID  [32]byte // SHA-256 of the SubjectPublicKeyInfo
}

// ParseLogKey reads a base64 SubjectPublicKeyInfo, as log lists give it.
func ParseLogKey(b64 string) (LogKey, error) {
	der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return LogKey{}, fmt.Errorf("log key is not base64: %w", err)
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return LogKey{}, fmt.Errorf("log key is not a SubjectPublicKeyInfo: %w", err)
	}
	switch k.(type) {
	case *ecdsa.PublicKey, *rsa.PublicKey:
	default:
		return LogKey{}, fmt.Errorf("log key is a %T; CT logs use ECDSA or RSA", k)
	}
	return LogKey{Key: k, ID: sha256.Sum256(der)}, nil
}

var errSignature = errors.New("bad signature")

// treeHeadInput is the TreeHeadSignature structure a log signs.
func treeHeadInput(h Head) []byte {
	b := make([]byte, 0, 2+8+8+32)
	b = append(b, 0, 1) // version v1, signature_type tree_hash
	b = binary.BigEndian.AppendUint64(b, h.Timestamp)
	b = binary.BigEndian.AppendUint64(b, uint64(h.Size))
	return append(b, h.Root[:]...)
}

// verifyDigitallySigned checks a TLS DigitallySigned structure over data.
func verifyDigitallySigned(k LogKey, data, ds []byte) error {
	s := cryptobyte.String(ds)
	var hashAlg, sigAlg uint8
	var sig cryptobyte.String
	if !s.ReadUint8(&hashAlg) || !s.ReadUint8(&sigAlg) || !s.ReadUint16LengthPrefixed(&sig) || !s.Empty() {
		return fmt.Errorf("%w: malformed DigitallySigned", errSignature)
	}
	if hashAlg != 4 {
		return fmt.Errorf("%w: hash algorithm %d, expected SHA-256", errSignature, hashAlg)
	}
	digest := sha256.Sum256(data)
	switch key := k.Key.(type) {
	case *ecdsa.PublicKey:
		if sigAlg != 3 || !ecdsa.VerifyASN1(key, digest[:], sig) {
			return fmt.Errorf("%w: ECDSA signature does not verify", errSignature)
		}
	case *rsa.PublicKey:
		if sigAlg != 1 || rsa.VerifyPKCS1v15(key, crypto.SHA256, digest[:], sig) != nil {
			return fmt.Errorf("%w: RSA signature does not verify", errSignature)
		}
	default:
		return fmt.Errorf("%w: unsupported key", errSignature)
	}
	return nil
}
