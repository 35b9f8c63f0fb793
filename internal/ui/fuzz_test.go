package ui

import (
	"net"
	"strings"
	"testing"
	"time"
)

// Request inputs an attacker chooses: the login's next= target, the Host
// header, the account of a hold, a TOTP code.
func FuzzRequestInputs(f *testing.F) {
	for _, s := range []string{"/", "//evil.example", "/\\evil", "https://x", "/incidents/1?x=1", "127.0.0.1:9760", "[::1]:80",
		"localhost", "evil.example", "marie@club.example", "a b", "123456", "\x00", "/%2f%2fevil"} {
		f.Add(s)
	}
	secret := b32.EncodeToString([]byte("12345678901234567890"))
	now := time.Unix(1111111111, 0)
	f.Fuzz(func(t *testing.T, s string) {
		n := safeNext(s)
		if n != "/" && (n != s || !strings.HasPrefix(n, "/") || strings.HasPrefix(n, "//") || strings.HasPrefix(n, "/\\") || strings.ContainsAny(n, "\r\n")) {
			t.Fatalf("safeNext(%q) = %q", s, n)
		}
		if loopbackHost(s) {
			// Checked against the net package's own parser.
			host := s
			if h, _, err := net.SplitHostPort(s); err == nil {
				host = h
			}
			host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
			if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
				t.Fatalf("loopbackHost(%q) = true", s)
			}
		}
		if checkAccount(s) == nil && (s == "" || strings.ContainsAny(s, " \t\r\n\x00")) {
			t.Fatalf("checkAccount(%q) accepted", s)
		}
		if _, ok := verifyTOTP(secret, s, now, 0); ok && len(s) != totpDigits {
			t.Fatalf("verifyTOTP accepted %q", s)
		}
	})
}
