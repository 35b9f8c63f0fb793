package blocklist

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigie/vigie/internal/blocklist/knottest"
	"github.com/vigie/vigie/internal/testutil"
)

// Every case of the issue against a real Knot: listed with reason, clear,
// error codes, answers outside 127/8, huge TXT, a zone listing everything,
// SERVFAIL and REFUSED. The doubtful ones must come out unknown with a
// reason, never listed.
func TestCheckAgainstKnot(t *testing.T) {
	k := knottest.Start(t)
	zs := testZones(t)
	c := checkerFor(k, zs...)
	targets := mustTargets(t, "203.0.113.7", "203.0.113.1", "203.0.113.9", "203.0.113.8", "203.0.113.11",
		"203.0.113.10", "203.0.113.12", "2001:db8::25", "2001:db8::1", "spammy.example", "clean.example",
		"ipquery.example", "multi.example", "refused.example")
	rep := c.Check(ctxT(t), targets)

	got := map[string]Result{}
	for _, r := range rep.Results {
		got[r.Target+" "+r.Zone] = r
	}
	cases := []struct {
		target, zone string
		status       Status
		want         []string // substrings of reason + meanings + codes
	}{
		{"203.0.113.7", "good.bl.test", Listed, []string{"127.0.0.2", "spam source", "Listed for spam: see https://good.bl.test/lookup?ip=203.0.113.7"}},
		{"203.0.113.1", "good.bl.test", Clear, nil},
		{"203.0.113.10", "good.bl.test", Listed, []string{"127.0.0.2,127.0.0.4", "spam source", "exploited host"}},
		{"203.0.113.9", "good.bl.test", Unknown, []string{"unknown, because", "127.255.255.252", "typing error"}},
		{"203.0.113.8", "good.bl.test", Unknown, []string{"unknown, because", "192.0.2.1", "outside 127.0.0.0/8"}},
		{"203.0.113.11", "good.bl.test", Listed, []string{"snowshoe", "[truncated]"}},
		{"203.0.113.12", "good.bl.test", Listed, []string{"127.0.0.99: return code not documented"}},
		{"2001:db8::25", "good.bl.test", Listed, []string{"IPv6 listing"}},
		{"2001:db8::1", "good.bl.test", Clear, nil},
		// Spamhaus-style error codes for every query: the health check fails.
		{"203.0.113.7", "refusing.bl.test", Unknown, []string{"unknown, because the zone failed its health check", "127.255.255.254", "public or open resolver"}},
		// Health passes, the target gets "over the limit".
		{"203.0.113.7", "limit.bl.test", Unknown, []string{"unknown, because", "127.255.255.255", "excessive number of queries"}},
		// The lapsed-domain failure.
		{"203.0.113.7", "everything.bl.test", Unknown, []string{"unknown, because", "lists everything", "127.0.0.1"}},
		{"203.0.113.1", "everything.bl.test", Unknown, []string{"lists everything"}},
		{"203.0.113.7", "parked.bl.test", Unknown, []string{"unknown, because", "192.0.2.80", "outside 127.0.0.0/8"}},
		{"203.0.113.7", "broken.bl.test", Unknown, []string{"unknown, because", "SERVFAIL"}},
		{"203.0.113.7", "notserved.bl.test", Unknown, []string{"unknown, because", "REFUSED"}},
		{"spammy.example", "dbl.bl.test", Listed, []string{"127.0.1.2", "low-reputation domain", "https://dbl.bl.test/lookup?d=spammy.example"}},
		{"clean.example", "dbl.bl.test", Clear, nil},
		{"ipquery.example", "dbl.bl.test", Unknown, []string{"IP queries are not allowed"}},
		{"multi.example", "bits.bl.test", Listed, []string{"127.0.0.14", "black", "grey", "red"}},
		{"refused.example", "bits.bl.test", Unknown, []string{"127.0.0.1", "query refused"}},
	}
	for _, cs := range cases {
		r, ok := got[cs.target+" "+cs.zone]
		if !ok {
			t.Errorf("%s on %s: no result", cs.target, cs.zone)
			continue
		}
		text := r.Reason + " " + strings.Join(r.Meanings, "; ") + " " + strings.Join(r.Codes, ",")
		if r.Status != cs.status || !hasAll(text, cs.want...) {
			t.Errorf("%s on %s: %s %q; want %s with %q", cs.target, cs.zone, r.Status, text, cs.status, cs.want)
		}
		if r.Status == Unknown && !strings.HasPrefix(r.Reason, "unknown, because ") {
			t.Errorf("%s on %s: unknown reason %q does not say why", cs.target, cs.zone, r.Reason)
		}
	}
	// Never listed on a zone that failed its health check.
	for _, r := range rep.Results {
		switch r.Zone {
		case "refusing.bl.test", "everything.bl.test", "parked.bl.test", "broken.bl.test", "notserved.bl.test":
			if r.Status != Unknown {
				t.Errorf("%s on %s: %s, want unknown", r.Target, r.Zone, r.Status)
			}
		}
		if r.Status == Listed && len(r.Reason) > maxReason {
			t.Errorf("%s on %s: reason of %d bytes kept", r.Target, r.Zone, len(r.Reason))
		}
	}
	// Domain zones get domains, IP zones addresses; IPv6 only where the
	// zone says it answers for IPv6.
	for _, r := range rep.Results {
		if strings.Contains(r.Target, ":") && r.Zone != "good.bl.test" {
			t.Errorf("IPv6 target %s checked on %s, which does not answer for IPv6", r.Target, r.Zone)
		}
		if strings.HasSuffix(r.Target, ".example") != (r.Zone == "dbl.bl.test" || r.Zone == "bits.bl.test") {
			t.Errorf("%s checked on %s", r.Target, r.Zone)
		}
	}
	health := map[string]ZoneHealth{}
	for _, h := range rep.Zones {
		health[h.Zone] = h
	}
	for zone, ok := range map[string]bool{"good.bl.test": true, "limit.bl.test": true, "dbl.bl.test": true, "bits.bl.test": true,
		"refusing.bl.test": false, "everything.bl.test": false, "parked.bl.test": false, "broken.bl.test": false, "notserved.bl.test": false} {
		if health[zone].OK != ok {
			t.Errorf("health of %s = %+v, want ok=%v", zone, health[zone], ok)
		}
	}
}

// A resolver that does not answer (a socket that swallows the queries)
// and one where nothing listens: unknown, with the reason.
func TestCheckTimeoutAndNoResolver(t *testing.T) {
	zs := testZones(t)
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	closed := "127.0.0.1:" + strconv.Itoa(testutil.FreePort(t))
	for _, tc := range []struct {
		name, server, want string
	}{
		{"timeout", silent.LocalAddr().String(), "no answer within 300ms"},
		{"nothing listens", closed, "connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Checker{Zones: []*Zone{zoneNamed(t, zs, "good.bl.test")},
				Resolver: &Resolver{Servers: []string{tc.server}, Timeout: 300 * time.Millisecond, Attempts: 1}}
			rep := c.Check(ctxT(t), mustTargets(t, "203.0.113.7"))
			if len(rep.Results) != 1 {
				t.Fatalf("results: %+v", rep.Results)
			}
			r := rep.Results[0]
			if r.Status != Unknown || !hasAll(r.Reason, "unknown, because", tc.want) {
				t.Errorf("got %s %q, want unknown with %q", r.Status, r.Reason, tc.want)
			}
		})
	}
}
