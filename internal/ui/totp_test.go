package ui

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"testing"
	"time"
)

// The test vectors of RFC 6238 appendix B (8 digits, one seed per hash).
func TestTOTPRFC6238Vectors(t *testing.T) {
	seeds := map[string]struct {
		h    func() hash.Hash
		seed string
	}{
		"SHA1":   {sha1.New, "12345678901234567890"},
		"SHA256": {sha256.New, "12345678901234567890123456789012"},
		"SHA512": {sha512.New, "1234567890123456789012345678901234567890123456789012345678901234"},
	}
	cases := []struct {
		unix int64
		code map[string]string
	}{
		{59, map[string]string{"SHA1": "94287082", "SHA256": "46119246", "SHA512": "90693936"}},
		{1111111109, map[string]string{"SHA1": "07081804", "SHA256": "68084774", "SHA512": "25091201"}},
		{1111111111, map[string]string{"SHA1": "14050471", "SHA256": "67062674", "SHA512": "99943326"}},
		{1234567890, map[string]string{"SHA1": "89005924", "SHA256": "91819424", "SHA512": "93441116"}},
		{2000000000, map[string]string{"SHA1": "69279037", "SHA256": "90698825", "SHA512": "38618901"}},
		{20000000000, map[string]string{"SHA1": "65353130", "SHA256": "77737706", "SHA512": "47863826"}},
	}
	for _, c := range cases {
		for alg, want := range c.code {
			s := seeds[alg]
			if got := hotp(s.h, []byte(s.seed), totpCounter(time.Unix(c.unix, 0)), 8); got != want {
				t.Errorf("%s at %d: %s, want %s", alg, c.unix, got, want)
			}
		}
	}
}

func TestTOTPVerify(t *testing.T) {
	secret := b32.EncodeToString([]byte("12345678901234567890"))
	now := time.Unix(1111111111, 0)
	code, err := TOTPCode(secret, now)
	if err != nil || code != "050471" { // the RFC's SHA1 vector, last 6 digits
		t.Fatalf("code = %q, %v", code, err)
	}
	step, ok := verifyTOTP(secret, code, now, 0)
	if !ok || step != totpCounter(now) {
		t.Fatalf("verify = %d %v", step, ok)
	}
	if _, ok := verifyTOTP(secret, code, now, step); ok {
		t.Error("a replayed code was accepted")
	}
	if _, ok := verifyTOTP(secret, code, now.Add(30*time.Second), 0); !ok {
		t.Error("the previous step was refused (clock skew)")
	}
	if _, ok := verifyTOTP(secret, code, now.Add(90*time.Second), 0); ok {
		t.Error("a code three steps old was accepted")
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef"} {
		if _, ok := verifyTOTP(secret, bad, now, 0); ok {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, ok := verifyTOTP("not base32!", code, now, 0); ok {
		t.Error("bad secret accepted")
	}
}
