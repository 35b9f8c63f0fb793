package webapps

import (
	"fmt"
	"testing"

	"github.com/vigie/vigie/internal/vigie"
)

func TestOwners(t *testing.T) {
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
