package postgres

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzTxt: whatever an attacker sends, what is stored is valid UTF-8
// without NUL (PostgreSQL refuses both otherwise), and text that was
// already storable is kept byte for byte.
func FuzzTxt(f *testing.F) {
	for _, s := range []string{"", "alice@example.org", "ev\x00il", "\xff\xfe", "caf\xc3", "<script>'; DROP TABLE x; --", "\u202e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := txt(s)
		if !utf8.ValidString(got) || strings.IndexByte(got, 0) >= 0 {
			t.Fatalf("txt(%q) = %q is not storable", s, got)
		}
		if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 && got != s {
			t.Fatalf("txt(%q) = %q changed storable text", s, got)
		}
		if txt(got) != got {
			t.Fatalf("txt is not idempotent on %q", s)
		}
	})
}
