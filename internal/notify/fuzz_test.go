package notify

import (
	"testing"
	"time"
)

// FuzzRetryAfter: a receiver's Retry-After header never makes a negative
// or longer-than-maxRetryAfter wait.
func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"3", "0", "-1", "Wed, 21 Oct 2015 07:28:00 GMT", "99999999999999999999", " 12 ", "1e9", ""} {
		f.Add(s)
	}
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := parseRetryAfter(v, now)
		if ok && (d < 0 || d > maxRetryAfter) {
			t.Fatalf("parseRetryAfter(%q) = %s", v, d)
		}
	})
}
