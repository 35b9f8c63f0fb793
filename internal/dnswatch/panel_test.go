package dnswatch

import (
	"fmt"
	"testing"

	"github.com/vigie/vigie/internal/vigie"
)

func TestDrift(t *testing.T) {
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
}
