package ui

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"hash"
	"net/url"
	"strings"
	"time"
)

// TOTP (RFC 6238) with the parameters every authenticator app accepts:
// HMAC-SHA1, 6 digits, 30 s steps. Small enough to keep here rather than
// add a dependency; totp_test.go checks it against the RFC's vectors.
const (
	totpDigits = 6
	totpStep   = 30 * time.Second
	// totpSkew accepts the previous and next step, for clocks a little off.
	totpSkew = 1
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewTOTPSecret returns a random 160-bit secret in base32, the form
// authenticator apps take.
func NewTOTPSecret() string {
	b := make([]byte, 20)
	rand.Read(b)
	return b32.EncodeToString(b)
}

// TOTPURI is the otpauth:// URI an authenticator app reads (as a QR code
// or pasted).
func TOTPURI(issuer, user, secret string) string {
	v := url.Values{"secret": {secret}, "issuer": {issuer}, "algorithm": {"SHA1"}, "digits": {"6"}, "period": {"30"}}
	return "otpauth://totp/" + url.PathEscape(issuer+":"+user) + "?" + v.Encode()
}

func decodeTOTPSecret(secret string) ([]byte, error) {
	s := strings.ToUpper(strings.ReplaceAll(strings.TrimRight(secret, "="), " ", ""))
	k, err := b32.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("TOTP secret is not base32: %w", err)
	}
	return k, nil
}

// hotp is RFC 4226's HOTP value of counter c with key k.
func hotp(h func() hash.Hash, k []byte, c uint64, digits int) string {
	m := hmac.New(h, k)
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], c)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, bin%mod)
}

// totpCounter is the RFC 6238 time step of t.
func totpCounter(t time.Time) uint64 { return uint64(t.Unix()) / uint64(totpStep/time.Second) }

// TOTPCode is the code for secret at t (tests and `vigie user totp`).
func TOTPCode(secret string, t time.Time) (string, error) {
	k, err := decodeTOTPSecret(secret)
	if err != nil {
		return "", err
	}
	return hotp(sha1.New, k, totpCounter(t), totpDigits), nil
}

// verifyTOTP checks code against secret at now, within the skew, and
// returns the step it matched. Steps at or before last are refused, so a
// code seen once (over a shoulder, in a proxy log) cannot be replayed.
func verifyTOTP(secret, code string, now time.Time, last uint64) (uint64, bool) {
	k, err := decodeTOTPSecret(secret)
	if err != nil || len(code) != totpDigits {
		return 0, false
	}
	c := totpCounter(now)
	for d := -totpSkew; d <= totpSkew; d++ {
		step := uint64(int64(c) + int64(d))
		if step <= last {
			continue
		}
		if subtle.ConstantTimeCompare([]byte(hotp(sha1.New, k, step, totpDigits)), []byte(code)) == 1 {
			return step, true
		}
	}
	return 0, false
}
