package ct_test

import (
	"testing"

	"github.com/vigie/vigie/internal/config"
	"github.com/vigie/vigie/internal/ct"
	"github.com/vigie/vigie/internal/watch/watchtest"
)

func TestConformance(t *testing.T) {
	watchtest.Absent(t, ct.Descriptor(), config.Default())
}
