package dnswatch_test

import (
	"testing"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/dnswatch"
	"github.com/vigie/vigie/internal/watch/watchtest"
)

func TestConformance(t *testing.T) {
	watchtest.Absent(t, dnswatch.Descriptor(), config.Default())
}
