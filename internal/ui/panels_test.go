package ui

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

func TestDriftAndOwners(t *testing.T) {
	alerts := []vigie.Alert{
		{ID: 1, Rule: "ns-changed", Subject: "a.fr", Evidence: map[string]string{"expected": "ns1.x.", "observed": "ns1.evil.", "record": "NS"}},
		{ID: 2, Rule: "records-changed", Subject: "b.fr", Evidence: map[string]string{"MX expected": "10 mx.x.", "MX observed": "10 mx.evil.", "A expected": "192.0.2.1", "A observed": "203.0.113.6"}},
		{ID: 3, Rule: "other", Subject: "c.fr"},
	}
	got := fmt.Sprint(driftRows(alerts))
	want := "[{1 a.fr NS ns1.x. ns1.evil.} {2 b.fr A 192.0.2.1 203.0.113.6} {2 b.fr MX 10 mx.x. 10 mx.evil.}]"
	if got != want {
		t.Errorf("drift = %s\nwant    %s", got, want)
	}
	web := []vigie.Alert{
		{Severity: vigie.SeverityWarning, Evidence: map[string]string{"owner": "asso"}},
		{Severity: vigie.SeverityCritical, Evidence: map[string]string{"owner": "asso"}},
		{Severity: vigie.SeverityInfo, Evidence: map[string]string{"owner": "shop"}},
		{Severity: vigie.SeverityInfo},
	}
	if got := fmt.Sprint(ownerRows(web)); got != "[{asso 2 critical} {shop 1 info}]" {
		t.Errorf("owners = %s", got)
	}
}
