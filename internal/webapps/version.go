package webapps

import "strings"

// A Version is a CMS version split into numbers: "7.57" is [7 57],
// "2023-04-04a" (DokuWiki) is [2023 4 4 1], "6.5-RC1" is [6 5] with a
// pre-release marker. Comparing numbers segment by segment is right for
// every app this package knows.
type Version struct {
	Raw  string
	Nums []int
	// Pre is true for alpha, beta, RC and dev builds: 6.5-RC1 < 6.5.
	Pre bool
}

// maxSegments bounds what a hostile version file can make us allocate.
const maxSegments = 6

// ParseVersion reads a version string; ok is false when it holds no number.
func ParseVersion(s string) (Version, bool) {
	v := Version{Raw: s}
	lower := strings.ToLower(s)
	if i := strings.IndexAny(lower, "-+ ~"); i >= 0 {
		suffix := lower[i:]
		for _, p := range []string{"alpha", "beta", "rc", "dev", "pre", "a1", "b1"} {
			if strings.Contains(suffix, p) {
				v.Pre = true
			}
		}
		if !v.Pre && strings.HasPrefix(suffix, "-p") {
			// Magento's 2.4.6-p3 is a security patch on 2.4.6: keep its number.
			lower = lower[:i] + "." + strings.TrimLeft(suffix, "-pl")
		} else if !isDateVersion(lower) {
			lower = lower[:i]
		}
	}
	n, cur, in := 0, 0, false
	for i := 0; i < len(lower); i++ {
		c := lower[i]
		switch {
		case c >= '0' && c <= '9':
			if cur < 1e8 {
				cur = cur*10 + int(c-'0')
			}
			in = true
		case c >= 'a' && c <= 'z' && in && isDateVersion(lower):
			// DokuWiki hotfix letters: 2023-04-04a > 2023-04-04.
			v.Nums = append(v.Nums, cur, int(c-'a')+1)
			cur, in = 0, false
			n += 2
		default:
			if in {
				v.Nums = append(v.Nums, cur)
				n++
			}
			cur, in = 0, false
		}
		if n >= maxSegments {
			break
		}
	}
	if in && n < maxSegments {
		v.Nums = append(v.Nums, cur)
	}
	// A date version's hotfix letter adds two segments at once, which can
	// step over the bound.
	if len(v.Nums) > maxSegments {
		v.Nums = v.Nums[:maxSegments]
	}
	return v, len(v.Nums) > 0
}

// isDateVersion recognises DokuWiki's "2023-04-04a" style.
func isDateVersion(s string) bool {
	return len(s) >= 10 && s[4] == '-' && s[7] == '-' && allDigits(s[:4]) && allDigits(s[5:7]) && allDigits(s[8:10])
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// MustVersion is ParseVersion for literals known to be good.
func MustVersion(s string) Version {
	v, ok := ParseVersion(s)
	if !ok {
		panic("webapps: bad version literal " + s)
	}
	return v
}

// Compare returns -1, 0 or 1. Missing segments count as zero, so 7.0 == 7.
func (v Version) Compare(w Version) int {
	n := max(len(v.Nums), len(w.Nums))
	for i := 0; i < n; i++ {
		a, b := seg(v.Nums, i), seg(w.Nums, i)
		if a != b {
			if a < b {
				return -1
			}
			return 1
		}
	}
	switch {
	case v.Pre && !w.Pre:
		return -1
	case !v.Pre && w.Pre:
		return 1
	}
	return 0
}

func seg(n []int, i int) int {
	if i < len(n) {
		return n[i]
	}
	return 0
}

// HasPrefix reports whether v belongs to the release cycle c: "7.57" is in
// cycle "7", "10.2.3" is in "10.2" but not in "10.20".
func (v Version) HasPrefix(c Version) bool {
	if len(c.Nums) > len(v.Nums) {
		return false
	}
	for i, n := range c.Nums {
		if v.Nums[i] != n {
			return false
		}
	}
	return true
}

func (v Version) String() string { return v.Raw }
