package incident

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzMarkdownEscape: whatever a finding says, md's output is one line,
// and every Markdown-active character in it is escaped.
func FuzzMarkdownEscape(f *testing.F) {
	for _, s := range []string{"alice@club1.fr", "<script>alert(1)</script>", "1. x", "- x", "a|b\n# c", "[x](javascript:1)", "\\", "\\*", "é\u2028x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := md(s)
		if strings.ContainsAny(out, "\r\n\u2028\u2029") {
			t.Fatalf("md(%q) = %q spans lines", s, out)
		}
		escaped := false
		for i, r := range out {
			if escaped {
				escaped = false
				continue
			}
			if r == '\\' {
				escaped = true
				continue
			}
			if strings.ContainsRune("`*_[]<>|~#&", r) {
				t.Fatalf("md(%q) = %q: %q at %d not escaped", s, out, r, i)
			}
		}
		if escaped {
			t.Fatalf("md(%q) = %q ends with a lone backslash", s, out)
		}
		if utf8.ValidString(s) && !utf8.ValidString(out) {
			t.Fatalf("md made invalid UTF-8 of %q", s)
		}
	})
}
