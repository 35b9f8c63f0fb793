package blocklist

import (
	"fmt"
	"testing"

	"github.com/vigie/vigie/internal/vigie"
)

func TestBlocklistMatrix(t *testing.T) {
	alerts := []vigie.Alert{
		{Key: vigie.BlocklistKey("198.51.100.25", "zen.spamhaus.org"), Subject: "198.51.100.25"},
		{Key: vigie.BlocklistKey("198.51.100.25", "b.barracudacentral.org"), Subject: "198.51.100.25"},
		{Key: "blocklist/club.example/dbl.spamhaus.org", Subject: "club.example"},
		{Key: "other", Subject: "203.0.113.1", Evidence: map[string]string{"zone": "bl.spamcop.net"}},
		{Key: "no zone", Subject: "x"},
	}
	m := blocklistMatrix(alerts)
	got := fmt.Sprint(m.Zones)
	if got != "[b.barracudacentral.org bl.spamcop.net dbl.spamhaus.org zen.spamhaus.org]" {
		t.Errorf("zones = %s", got)
	}
	want := map[string]string{"198.51.100.25": "[true false false true]", "club.example": "[false false true false]", "203.0.113.1": "[false true false false]"}
	if len(m.Targets) != 3 {
		t.Fatalf("targets = %+v", m.Targets)
	}
	for _, r := range m.Targets {
		if fmt.Sprint(r.Cells) != want[r.Target] {
			t.Errorf("%s: %v, want %s", r.Target, r.Cells, want[r.Target])
		}
	}
}
