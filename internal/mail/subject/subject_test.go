package subject

import (
	"net/netip"
	"testing"
)

func TestStringFormsAreStableAndRoundTrip(t *testing.T) {
	for _, c := range []struct {
		s    Subject
		want string
	}{
		{SASL("alice@example.org"), "alice@example.org"},
		{SASL("alice"), "alice"},
		{UID(33), "uid:33"},
		{UID(0), "uid:0"},
		{Client(netip.MustParseAddr("127.0.0.1")), "client:127.0.0.1"},
		{Client(netip.MustParseAddr("::1")), "client:::1"},
		{Client(netip.MustParseAddr("::ffff:10.0.0.5")), "client:10.0.0.5"},
		{Server(), "server"},
		// SASL names that would read as another kind are escaped.
		{SASL("uid:33"), "sasl:uid:33"},
		{SASL("server"), "sasl:server"},
		{SASL("client:127.0.0.1"), "sasl:client:127.0.0.1"},
		{SASL("sasl:bob"), "sasl:sasl:bob"},
		{SASL(""), "sasl:"},
		// ... and those that would not are not.
		{SASL("uid:abc"), "uid:abc"},
		{SASL("uid:033"), "uid:033"},
		{SASL("client:nope"), "client:nope"},
	} {
		if got := c.s.String(); got != c.want {
			t.Errorf("%+v.String() = %q, want %q", c.s, got, c.want)
		}
		back, err := Parse(c.want)
		if err != nil || back != c.s {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", c.want, back, err, c.s)
		}
	}
}

func TestParseOldFormsAndErrors(t *testing.T) {
	if _, err := Parse(""); err != ErrEmpty {
		t.Errorf("Parse(\"\") err = %v", err)
	}
	if s := MustParse("uid:33"); s.Kind != KindUID || s.UID != 33 {
		t.Errorf("uid:33 = %+v", s)
	}
	if s := MustParse("uid:-1"); s.Kind != KindSASL {
		t.Errorf("uid:-1 must be a (strange) SASL name, got %+v", s)
	}
	if s := MustParse("client:fe80::1%eth0"); s.Kind != KindSASL {
		t.Errorf("a zoned address is not a client subject: %+v", s)
	}
	site := UID(33)
	site.Site = "/var/www/shop"
	if site.String() != "uid:33" || site.Key() != UID(33) {
		t.Errorf("the site is not part of the name: %q %+v", site.String(), site.Key())
	}
	if Server().Account() || !UID(1).Account() || !Client(netip.MustParseAddr("127.0.0.1")).Account() {
		t.Error("Account: server is not an account; uid and client are")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"alice", "uid:1", "client:::1", "server", "sasl:server", "uid:", "client:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		x, err := Parse(s)
		if err != nil {
			return
		}
		if y, err := Parse(x.String()); err != nil || y != x {
			t.Fatalf("%q -> %+v -> %q -> %+v %v", s, x, x.String(), y, err)
		}
	})
}
